import { Column, CreateDateColumn, Entity, Index, PrimaryGeneratedColumn } from 'typeorm';

export type HoldScope = 'country' | 'prefix';
export type HoldMode = 'enforced' | 'shadow';

/**
 * Sends to a number range, or a whole country, held because too few of its codes were verified:
 * the signature of SMS pumping (toll fraud). Numbers with a verified history still get codes;
 * others are answered as usual and get nothing. Operators list and lift holds; they also expire.
 */
@Entity('sms_holds')
@Index('uq_sms_holds_active', ['scope', 'scopeKey'], { unique: true, where: `"lifted_at" IS NULL` })
export class SmsHold {
  @PrimaryGeneratedColumn('uuid')
  id: string;

  @Column({ type: 'varchar', length: 10 })
  scope: HoldScope;

  /** Country code, or the HMAC of the number prefix. */
  @Column({ name: 'scope_key', type: 'varchar', length: 64 })
  scopeKey: string;

  /** What an operator sees: "ET", or a range like "+25191123····" (never a whole number). */
  @Column({ type: 'varchar', length: 32 })
  label: string;

  @Column({ type: 'varchar', length: 10 })
  mode: HoldMode;

  @Column({ type: 'integer' })
  sends: number;

  @Column({ type: 'integer' })
  verified: number;

  /** Country holds: the number ranges and client networks its unverified sends spanned. */
  @Column({ type: 'integer', nullable: true })
  ranges: number | null;

  @Column({ type: 'integer', nullable: true })
  networks: number | null;

  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' })
  createdAt: Date;

  @Column({ name: 'expires_at', type: 'timestamptz' })
  expiresAt: Date;

  @Column({ name: 'lifted_at', type: 'timestamptz', nullable: true })
  liftedAt: Date | null;
}
