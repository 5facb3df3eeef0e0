import { Column, Entity, PrimaryColumn } from 'typeorm';

/**
 * What an event's rollup row is split by besides country, purpose and status: what refused it
 * (the `layer` of rate_limited, held, refused and security events), else the channel it went
 * through (sends, verifications, expiries: a Verify send has no delivery receipt, a Messaging
 * one has). The recorder, the backfill migration and price updates use the same expression.
 */
export const ROLLUP_DETAIL_SQL = `COALESCE(layer, channel, '-')`;

/**
 * The start of the UTC period (`1 hour`, `1 day`, `7 days`) that holds `column`, in SQL. Weeks
 * start on Monday, as ISO weeks and date_trunc('week') do: 2000-01-03 was a Monday. date_bin is
 * plain arithmetic, where date_trunc with a time zone converts each value (and, as a filter on a
 * parameter, is evaluated again for every row scanned).
 */
export function sqlUtcPeriodOf(column: string, period: '1 hour' | '1 day' | '7 days'): string {
  return `date_bin('${period}', ${column}, TIMESTAMPTZ '2000-01-03 00:00:00+00')`;
}

/**
 * Hourly totals per country, purpose, status and detail, kept up to date with every batch of
 * events: the operators' reports read these instead of scanning millions of events.
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

  /** See ROLLUP_DETAIL_SQL; '-' when neither is known. */
  @PrimaryColumn({ type: 'varchar', length: 32, default: '-' })
  detail: string;

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
}

/**
 * The response times of the requests whose outcome an event records (each request once, see
 * request-timings.ts), per hour, country and purpose: the reports' percentiles. Apart from
 * sms_event_rollups so that the other reports never read the histograms.
 */
@Entity('sms_response_time_rollups')
export class SmsResponseTimeRollup {
  @PrimaryColumn({ type: 'timestamptz' })
  bucket: Date;

  /** '--' when unknown. */
  @PrimaryColumn({ name: 'country_code', type: 'char', length: 2 })
  countryCode: string;

  /** '-' when unknown. */
  @PrimaryColumn({ type: 'varchar', length: 20 })
  purpose: string;

  @Column({ type: 'integer', default: 0 })
  responses: number;

  /** Response times by bucket of RESPONSE_TIME_BOUNDS_MS (response-time-histogram.ts). */
  @Column({ name: 'rt_histogram', type: 'integer', array: true, default: () => `'{}'` })
  rtHistogram: number[];
}
