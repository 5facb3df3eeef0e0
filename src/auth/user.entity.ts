import {
  Column,
  CreateDateColumn,
  Entity,
  Index,
  PrimaryGeneratedColumn,
  UpdateDateColumn,
} from 'typeorm';

/**
 * An account. The only table that keeps a phone number in clear (docs/SECURITY.md rule 16): login
 * by SMS must send to it. Lookups go through `phone_number_hash`, the HMAC every other table uses.
 */
@Entity('users')
@Index('uq_users_phone_number', ['phoneNumber'], { unique: true })
@Index('uq_users_phone_number_hash', ['phoneNumberHash'], { unique: true })
export class User {
  @PrimaryGeneratedColumn('uuid')
  id: string;

  /** E.164, at most 15 digits after the "+". */
  @Column({ name: 'phone_number', type: 'varchar', length: 16 })
  phoneNumber: string;

  @Column({ name: 'phone_number_hash', type: 'varchar', length: 64 })
  phoneNumberHash: string;

  /** argon2id, parameters included. */
  @Column({ name: 'password_hash', type: 'varchar', length: 255 })
  passwordHash: string;

  @Column({ name: 'phone_verified_at', type: 'timestamptz', nullable: true })
  phoneVerifiedAt: Date | null;

  @Column({ name: 'two_factor_enabled', type: 'boolean', default: false })
  twoFactorEnabled: boolean;

  /** Carried by every token; bumping it ends every session at once (reset, phone change). */
  @Column({ name: 'token_version', type: 'integer', default: 0 })
  tokenVersion: number;

  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' })
  createdAt: Date;

  @UpdateDateColumn({ name: 'updated_at', type: 'timestamptz' })
  updatedAt: Date;
}
