import { Column, Entity, Index, PrimaryColumn } from 'typeorm';

/**
 * One Programmable Messaging SMS and its delivery state, so status callbacks are idempotent and
 * order-tolerant: a status only ever moves forward (queued → sent → delivered/undelivered/failed).
 */
@Entity('sms_messages')
@Index('idx_sms_messages_created', ['createdAt'])
export class SmsMessage {
  @PrimaryColumn({ type: 'varchar', length: 64 })
  sid: string;

  @Column({ name: 'verification_id', type: 'uuid', nullable: true })
  verificationId: string | null;

  @Column({ name: 'phone_hash', type: 'varchar', length: 64 })
  phoneHash: string;

  @Column({ name: 'country_code', type: 'char', length: 2 })
  countryCode: string;

  @Column({ type: 'varchar', length: 20, nullable: true })
  purpose: string | null;

  @Column({ type: 'varchar', length: 16 })
  status: string;

  @Column({ name: 'status_rank', type: 'smallint' })
  statusRank: number;

  @Column({ name: 'error_code', type: 'varchar', length: 16, nullable: true })
  errorCode: string | null;

  @Column({ type: 'smallint', default: 1 })
  segments: number;

  @Column({ name: 'estimated_cost', type: 'numeric', precision: 12, scale: 6, nullable: true })
  estimatedCost: string | null;

  /** Twilio's price once known (positive: what we paid). */
  @Column({ type: 'numeric', precision: 12, scale: 6, nullable: true })
  price: string | null;

  @Column({ name: 'price_unit', type: 'char', length: 3, nullable: true })
  priceUnit: string | null;

  @Column({ name: 'created_at', type: 'timestamptz' })
  createdAt: Date;

  @Column({ name: 'updated_at', type: 'timestamptz' })
  updatedAt: Date;
}
