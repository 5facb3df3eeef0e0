import { Column, Entity, Index, PrimaryGeneratedColumn } from 'typeorm';
import type { Purpose } from '../../common/purpose';

/**
 * The analytics schema of docs/PRODUCT.md#analytics, one row per fact; no raw phone number or IP.
 */
@Entity('sms_events')
@Index('idx_sms_events_occurred', ['occurredAt'])
@Index('idx_sms_events_provider_sid', ['providerSid'])
@Index('idx_sms_events_failures', ['occurredAt'], {
  where: `"status" IN ('failed', 'undelivered', 'wrong_code', 'refused', 'security')`,
})
export class SmsEventRecord {
  @PrimaryGeneratedColumn('uuid')
  id: string;

  @Column({ name: 'phone_hash', type: 'varchar', length: 64, nullable: true })
  phoneHash: string | null;

  @Column({ type: 'varchar', length: 20, nullable: true })
  purpose: Purpose | null;

  @Column({ type: 'varchar', length: 16 })
  status: string;

  @Column({ type: 'varchar', length: 20, nullable: true })
  channel: string | null;

  @Column({ name: 'verification_id', type: 'uuid', nullable: true })
  verificationId: string | null;

  @Column({ name: 'provider_sid', type: 'varchar', length: 64, nullable: true })
  providerSid: string | null;

  @Column({ name: 'country_code', type: 'char', length: 2, nullable: true })
  countryCode: string | null;

  @Column({ type: 'varchar', length: 100, nullable: true })
  carrier: string | null;

  @Column({ type: 'numeric', precision: 12, scale: 6, nullable: true })
  cost: string | null;

  @Column({ type: 'char', length: 3, nullable: true })
  currency: string | null;

  @Column({ name: 'cost_source', type: 'varchar', length: 10, nullable: true })
  costSource: string | null;

  @Column({ name: 'occurred_at', type: 'timestamptz' })
  occurredAt: Date;

  @Column({ name: 'response_time_ms', type: 'integer', nullable: true })
  responseTimeMs: number | null;

  @Column({ name: 'provider_latency_ms', type: 'integer', nullable: true })
  providerLatencyMs: number | null;

  @Column({ name: 'error_code', type: 'varchar', length: 32, nullable: true })
  errorCode: string | null;

  @Column({ name: 'error_message', type: 'text', nullable: true })
  errorMessage: string | null;

  @Column({ name: 'user_agent', type: 'varchar', length: 256, nullable: true })
  userAgent: string | null;

  @Column({ name: 'ip_hash', type: 'varchar', length: 64, nullable: true })
  ipHash: string | null;

  /**
   * The request that produced the event (the X-Request-Id answered to it): the original request's
   * `sessionId` field, named for what it holds. The service has no client sessions to record.
   */
  @Column({ name: 'request_id', type: 'varchar', length: 128, nullable: true })
  requestId: string | null;

  @Column({ type: 'varchar', length: 8, nullable: true })
  encoding: string | null;

  @Column({ type: 'smallint', nullable: true })
  segments: number | null;

  @Column({ type: 'varchar', length: 32, nullable: true })
  layer: string | null;
}
