import { Injectable } from '@nestjs/common';
import { SmsEventStatus } from '../common/events/sms-events';
import { AnalyticsDatabase } from './analytics-database';
import { GroupBy } from './dto/analytics-query.dto';
import { sqlUtcPeriodOf } from './events/sms-event-rollup.entity';
import { RESPONSE_TIME_BUCKETS } from './response-time-histogram';

const HOUR_MS = 3_600_000;
const PERIODS = { day: '1 day', week: '7 days' } as const;

/** The period and filters of a report. */
export interface ReportRange {
  from: Date;
  to: Date;
  purpose?: string;
  country?: string;
  groupBy: GroupBy;
}

/** Rollup sums of one status and detail (and of the groups asked for, as `grouped`, `grouped2`…). */
export type RollupRow = Record<string, string | Date | null>;

/** What rollups can be grouped by besides status and detail: the range's period, or a column. */
export type RollupGroup = 'period' | 'purpose' | 'country_code';

/** The failures of a range: the most frequent errors, and the latest failures. */
export interface FailureRows {
  top: { error_code: string | null; status: string; count: string }[];
  recent: Record<string, unknown>[];
}

/** The last hour's events as the alert rules count them. */
export interface HourCounts {
  sends: number;
  failures: number;
  rate_limited: number;
  security: number;
}

const HISTOGRAM_SUMS = Array.from(
  { length: RESPONSE_TIME_BUCKETS },
  (_, index) => `sum(rt_histogram[${index + 1}]) AS h${index}`,
).join(', ');
const SUMS = `sum(events) AS events, sum(cost) AS cost, sum(estimated_cost_events) AS estimated,
  sum(response_count) AS response_count, sum(response_ms_sum) AS response_ms_sum`;

/**
 * The reads of the operators' reports and of the alert rules, on the analytics database. Reports
 * read the hourly rollups (kept current by the event recorder), so a 30-day question touches a
 * few thousand rows however many events there are; only the failure lists and the alerts' last
 * hour read events.
 */
@Injectable()
export class ReportsRepository {
  constructor(private readonly database: AnalyticsDatabase) {}

  /**
   * Rollup sums per status and detail, and per `groups` (selected as `grouped`, `grouped2`…);
   * `statuses` limits the rows read.
   */
  async rollups(
    range: ReportRange,
    groups: RollupGroup[] = [],
    statuses?: readonly SmsEventStatus[],
  ): Promise<RollupRow[]> {
    const values: unknown[] = [];
    let where = this.filters(range, values);
    if (statuses) where += ` AND status = ANY($${values.push(statuses)})`;
    const expressions = groups.map((group) => (group === 'period' ? period(range) : group));
    const names = expressions.map((group, index) => `${group} AS grouped${index || ''}`);
    const keys = [...names, 'status', 'detail'].join(', ');
    const groupBy = [...expressions, 'status', 'detail'].join(', ');
    return this.database.rows<RollupRow>(
      `SELECT ${keys}, ${SUMS} FROM sms_event_rollups WHERE ${where} GROUP BY ${groupBy}`,
      values,
    );
  }

  /** The response-time histogram of the range (sms_response_time_rollups). */
  async responseTimeHistogram(range: ReportRange): Promise<number[]> {
    const values: unknown[] = [];
    const where = this.filters(range, values);
    const [row] = await this.database.rows<Record<string, string | null>>(
      `SELECT ${HISTOGRAM_SUMS} FROM sms_response_time_rollups WHERE ${where}`,
      values,
    );
    return Array.from({ length: RESPONSE_TIME_BUCKETS }, (_, index) =>
      Number(row?.[`h${index}`] ?? 0),
    );
  }

  /** The ten most frequent errors of the range's failures, and its twenty latest failures. */
  async failures(range: ReportRange): Promise<FailureRows> {
    const values: unknown[] = [range.from, range.to];
    const clauses = [
      `occurred_at >= $1`,
      `occurred_at < $2`,
      // What went wrong for a code: provider and delivery failures, wrong codes, numbers and
      // proofs refused, security incidents (idx_sms_events_failures covers exactly these).
      `status IN ('failed', 'undelivered', 'wrong_code', 'refused', 'security')`,
    ];
    if (range.purpose) clauses.push(`purpose = $${values.push(range.purpose)}`);
    if (range.country) clauses.push(`country_code = $${values.push(range.country)}`);
    const where = clauses.join(' AND ');
    const top = await this.database.rows<{
      error_code: string | null;
      status: string;
      count: string;
    }>(
      `SELECT error_code, status, count(*) AS count FROM sms_events WHERE ${where}
        GROUP BY error_code, status ORDER BY count(*) DESC, error_code LIMIT 10`,
      values,
    );
    const recent = await this.database.rows<Record<string, unknown>>(
      `SELECT occurred_at, status, error_code, error_message, country_code, purpose, channel
         FROM sms_events WHERE ${where} ORDER BY occurred_at DESC LIMIT 20`,
      values,
    );
    return { top, recent };
  }

  /**
   * Events after `from` up to `to`: sends, failures, rate-limited requests, and security incidents
   * (security events, and refusals by the `securityLayers` of the limiter).
   */
  async eventCounts(from: Date, to: Date, securityLayers: readonly string[]): Promise<HourCounts> {
    const [counts] = await this.database.rows<HourCounts>(
      `SELECT count(*) FILTER (WHERE status IN ('sent', 'failed'))::int AS sends,
              count(*) FILTER (WHERE status IN ('failed', 'undelivered'))::int AS failures,
              count(*) FILTER (WHERE status = 'rate_limited')::int AS rate_limited,
              count(*) FILTER (WHERE status = 'security'
                OR (status = 'rate_limited' AND layer = ANY($3)))::int AS security
         FROM sms_events
        WHERE occurred_at > $1 AND occurred_at <= $2`,
      [from, to, securityLayers],
    );
    return counts;
  }

  /** The response-time histograms of every route-minute after `from` up to `to`. */
  async requestTimingHistograms(from: Date, to: Date): Promise<number[][]> {
    const timings = await this.database.rows<{ rt_histogram: number[] }>(
      `SELECT rt_histogram FROM sms_request_timings WHERE minute > $1 AND minute <= $2`,
      [from, to],
    );
    return timings.map(({ rt_histogram }) => rt_histogram);
  }

  /** What the sends of the hours from `from` up to `to` cost. */
  async sentCost(from: Date, to: Date): Promise<number> {
    const [total] = await this.database.rows<{ cost: number }>(
      `SELECT COALESCE(sum(cost), 0)::float8 AS cost FROM sms_event_rollups
        WHERE status = 'sent' AND bucket >= $1 AND bucket <= $2`,
      [from, to],
    );
    return total.cost;
  }

  private filters(range: ReportRange, values: unknown[]): string {
    // The hour that holds `from`, worked out here: a plain value keeps the scan a range scan.
    values.push(new Date(Math.floor(range.from.getTime() / HOUR_MS) * HOUR_MS), range.to);
    const clauses = [`bucket >= $1`, `bucket < $2`];
    if (range.purpose) clauses.push(`purpose = $${values.push(range.purpose)}`);
    if (range.country) clauses.push(`country_code = $${values.push(range.country)}`);
    return clauses.join(' AND ');
  }
}

/** The range's period of a rollup bucket, in SQL. */
function period(range: ReportRange): string {
  return range.groupBy === 'hour' ? 'bucket' : sqlUtcPeriodOf('bucket', PERIODS[range.groupBy]);
}
