import { Column, Entity, PrimaryColumn } from 'typeorm';

/** Upper bounds (ms) of the response-time histogram columns; the last column is "slower". */
export const RESPONSE_TIME_BUCKETS_MS = [100, 250, 500, 1000, 2000, 5000] as const;

/**
 * Hourly totals per country, purpose and status, kept up to date with every batch of events:
 * the operators' reports read these instead of scanning millions of events.
 */
@Entity('sms_event_rollups')
export class SmsEventRollup {
  @PrimaryColumn({ type: 'timestamptz' })
  bucket: Date;

  /** '--' when unknown. */
  @PrimaryColumn({ name: 'country_code', type: 'char', length: 2 })
  countryCode: string;

  /** '-' when unknown. */
  @PrimaryColumn({ type: 'varchar', length: 20 })
  purpose: string;

  @PrimaryColumn({ type: 'varchar', length: 16 })
  status: string;

  @Column({ type: 'integer', default: 0 })
  events: number;

  @Column({ type: 'numeric', precision: 14, scale: 6, default: 0 })
  cost: string;

  @Column({ name: 'estimated_cost_events', type: 'integer', default: 0 })
  estimatedCostEvents: number;

  @Column({ name: 'response_count', type: 'integer', default: 0 })
  responseCount: number;

  @Column({ name: 'response_ms_sum', type: 'bigint', default: 0 })
  responseMsSum: string;

  @Column({ name: 'rt_le_100', type: 'integer', default: 0 })
  rtLe100: number;

  @Column({ name: 'rt_le_250', type: 'integer', default: 0 })
  rtLe250: number;

  @Column({ name: 'rt_le_500', type: 'integer', default: 0 })
  rtLe500: number;

  @Column({ name: 'rt_le_1000', type: 'integer', default: 0 })
  rtLe1000: number;

  @Column({ name: 'rt_le_2000', type: 'integer', default: 0 })
  rtLe2000: number;

  @Column({ name: 'rt_le_5000', type: 'integer', default: 0 })
  rtLe5000: number;

  @Column({ name: 'rt_gt_5000', type: 'integer', default: 0 })
  rtGt5000: number;
}
