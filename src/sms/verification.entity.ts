import {
  Column,
  CreateDateColumn,
  Entity,
  Index,
  PrimaryGeneratedColumn,
  UpdateDateColumn,
} from 'typeorm';
import { PURPOSES, Purpose } from '../common/purpose';

export const VERIFICATION_STATUSES = ['pending', 'verified', 'expired', 'failed'] as const;
export type VerificationStatus = (typeof VERIFICATION_STATUSES)[number];

/**
 * `suppressed`: answered like any send, but nothing was delivered on purpose (no account for a
 * login code, a number that bounced); its code is random and known to nobody.
 */
export const DELIVERY_CHANNELS = [
  'twilio-verify',
  'twilio-messaging',
  'console',
  'test-number',
  'suppressed',
] as const;
export type DeliveryChannel = (typeof DELIVERY_CHANNELS)[number];

/**
 * `status = 'pending'` written so that PostgreSQL checks it on the rows the phone number's or the
 * id's index finds, and never plans by it. Its statistics count pending rows as of the last
 * ANALYZE, which autovacuum repeats on a table of millions only after a tenth of it changed: after
 * a burst of sends (a rush, an attack) it believes there is hardly one pending row, and then reads
 * every pending row, through (status, expires_at) or the one-pending-row index, for a lookup the
 * phone number or id answers at once. That made each batch of code checks read 13,000 rows in the
 * benchmark, and an attacker's pending codes would slow every user's request. The ON CONFLICT of a
 * new verification and the expiry sweep's scan keep the plain form: they need those indexes.
 */
export function pendingRow(alias?: string): string {
  return `(${alias ? `${alias}.` : ''}status = 'pending') IS TRUE`;
}

/**
 * One code sent to one phone for one purpose (docs/PRODUCT.md#storage, extended). Phone numbers,
 * codes and tokens are stored only as HMACs. At most one `pending` row exists per phone + purpose:
 * the partial unique index arbitrates concurrent sends.
 */
@Entity('sms_verifications')
@Index('idx_phone_purpose', ['phoneNumberHash', 'purpose'])
@Index('idx_status_expires', ['status', 'expiresAt'])
@Index('uq_sms_verifications_live', ['phoneNumberHash', 'purpose'], {
  unique: true,
  where: `"status" = 'pending'`,
})
@Index('idx_verifications_country_created', ['countryCode', 'createdAt'])
@Index('idx_verifications_prefix_created', ['phonePrefixHash', 'createdAt'])
@Index('uq_sms_verifications_token', ['tokenHash'], {
  unique: true,
  where: `"token_hash" IS NOT NULL`,
})
@Index('idx_verifications_verified_phone', ['phoneNumberHash', 'verifiedAt'], {
  where: `"verified_at" IS NOT NULL`,
})
export class Verification {
  @PrimaryGeneratedColumn('uuid')
  id: string;

  @Column({ name: 'phone_number_hash', type: 'varchar', length: 64 })
  phoneNumberHash: string;

  /** HMAC of the number minus its last 4 digits: conversion per range, against pumping. */
  @Column({ name: 'phone_prefix_hash', type: 'varchar', length: 64, nullable: true })
  phonePrefixHash: string | null;

  /**
   * HMAC of the sender's network (IPv4 /24, IPv6 /48; Hasher.hashClientNetwork): how many networks
   * a country's unverified sends came from, before a pumping hold covers the whole country.
   */
  @Column({ name: 'client_network_hash', type: 'varchar', length: 32, nullable: true })
  clientNetworkHash: string | null;

  @Column({ type: 'enum', enum: PURPOSES, enumName: 'sms_purpose' })
  purpose: Purpose;

  /**
   * The Verification sid answered to the client: Twilio's (VE…) for a verification Twilio Verify
   * started, else ours, random in the same shape. It never changes once answered.
   */
  @Column({ name: 'twilio_sid', type: 'varchar', length: 100, nullable: true })
  twilioSid: string | null;

  /** Twilio Verify's own sid of the verification that carries the code, for its checks. */
  @Column({ name: 'provider_sid', type: 'varchar', length: 64, nullable: true })
  providerSid: string | null;

  /** The last Programmable Messaging sid (SM…), for delivery callbacks. */
  @Column({ name: 'message_sid', type: 'varchar', length: 64, nullable: true })
  messageSid: string | null;

  @Column({
    type: 'enum',
    enum: VERIFICATION_STATUSES,
    enumName: 'sms_verification_status',
    default: 'pending',
  })
  status: VerificationStatus;

  @Column({ type: 'varchar', length: 20 })
  channel: DeliveryChannel;

  /** HMAC of the code when we made it; null when Twilio Verify holds the code. */
  @Column({ name: 'code_hash', type: 'varchar', length: 64, nullable: true })
  codeHash: string | null;

  @Column({ type: 'varchar', length: 5 })
  locale: string;

  @Column({ name: 'country_code', type: 'char', length: 2 })
  countryCode: string;

  @Column({ type: 'integer', default: 0 })
  attempts: number;

  @Column({ name: 'max_attempts', type: 'integer', default: 3 })
  maxAttempts: number;

  @Column({ name: 'send_count', type: 'integer', default: 1 })
  sendCount: number;

  @Column({ name: 'last_sent_at', type: 'timestamptz' })
  lastSentAt: Date;

  @Column({ name: 'expires_at', type: 'timestamptz' })
  expiresAt: Date;

  @Column({ name: 'verified_at', type: 'timestamptz', nullable: true })
  verifiedAt: Date | null;

  /** HMAC of the single-use verification_token handed out on approval. */
  @Column({ name: 'token_hash', type: 'varchar', length: 64, nullable: true })
  tokenHash: string | null;

  @Column({ name: 'token_expires_at', type: 'timestamptz', nullable: true })
  tokenExpiresAt: Date | null;

  @Column({ name: 'token_consumed_at', type: 'timestamptz', nullable: true })
  tokenConsumedAt: Date | null;

  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' })
  createdAt: Date;

  @UpdateDateColumn({ name: 'updated_at', type: 'timestamptz' })
  updatedAt: Date;
}
