import { Injectable } from '@nestjs/common';
import { Clock } from '../common/clock';
import { ProductError } from '../common/errors/product-error';
import { Sql } from '../database/sql';
import { AnalyticsDatabase } from './analytics-database';
import { describeDeliveryError } from './delivery/delivery-tracking.service';
import { AnalyticsQueryDto } from './dto/analytics-query.dto';
import { RESPONSE_TIME_BUCKETS_MS } from './events/sms-event-rollup.entity';

const DAY_MS = 86_400_000;
const MAX_RANGE_DAYS = 366;

export class InvalidRangeError extends ProductError {
  constructor(message: string) {
    super('INVALID_RANGE', message, 'invalid_input');
  }
}

interface Range {
  from: Date;
  to: Date;
  purpose?: string;
  country?: string;
  groupBy: 'day' | 'hour';
}

interface Totals {
  sent: number;
  failed: number;
  delivered: number;
  undelivered: number;
  verified: number;
  expired: number;
  rate_limited: number;
  suppressed: number;
  held: number;
  cost: number;
  estimatedCostEvents: number;
  responseCount: number;
  responseMsSum: number;
  histogram: number[];
}

type RollupRow = Record<string, string | Date | null>;

const HISTOGRAM_COLUMNS = [
  ...RESPONSE_TIME_BUCKETS_MS.map((limit) => `rt_le_${limit}`),
  'rt_gt_5000',
];
const SUMS = `sum(events) AS events, sum(cost) AS cost, sum(estimated_cost_events) AS estimated,
  sum(response_count) AS response_count, sum(response_ms_sum) AS response_ms_sum,
  ${HISTOGRAM_COLUMNS.map((column) => `sum(${column}) AS ${column}`).join(', ')}`;

function emptyTotals(): Totals {
  return {
    sent: 0,
    failed: 0,
    delivered: 0,
    undelivered: 0,
    verified: 0,
    expired: 0,
    rate_limited: 0,
    suppressed: 0,
    held: 0,
    cost: 0,
    estimatedCostEvents: 0,
    responseCount: 0,
    responseMsSum: 0,
    histogram: HISTOGRAM_COLUMNS.map(() => 0),
  };
}

function add(totals: Totals, row: RollupRow): void {
  const status = String(row.status) as keyof Totals;
  const events = Number(row.events ?? 0);
  if (typeof totals[status] === 'number') (totals[status] as number) += events;
  if (status === 'sent') {
    totals.cost += Number(row.cost ?? 0);
    totals.estimatedCostEvents += Number(row.estimated ?? 0);
  }
  totals.responseCount += Number(row.response_count ?? 0);
  totals.responseMsSum += Number(row.response_ms_sum ?? 0);
  HISTOGRAM_COLUMNS.forEach(
    (column, index) => (totals.histogram[index] += Number(row[column] ?? 0)),
  );
}

const ratio = (part: number, whole: number): number | null =>
  whole === 0 ? null : Math.round((part / whole) * 10_000) / 10_000;

/** A percentile from the response-time histogram, interpolated inside its bucket. */
function percentile(histogram: number[], fraction: number): number | null {
  const total = histogram.reduce((sum, count) => sum + count, 0);
  if (total === 0) return null;
  const target = total * fraction;
  let seen = 0;
  for (let index = 0; index < histogram.length; index += 1) {
    const count = histogram[index];
    if (seen + count >= target && count > 0) {
      const lower = index === 0 ? 0 : RESPONSE_TIME_BUCKETS_MS[index - 1];
      const upper = RESPONSE_TIME_BUCKETS_MS[index] ?? RESPONSE_TIME_BUCKETS_MS[index - 1] * 2;
      return Math.round(lower + ((target - seen) / count) * (upper - lower));
    }
    seen += count;
  }
  return null;
}

function rates(totals: Totals) {
  return {
    deliveryRate: ratio(totals.delivered, totals.delivered + totals.undelivered),
    verificationRate: ratio(totals.verified, totals.sent),
    failureRate: ratio(totals.failed + totals.undelivered, totals.sent + totals.failed),
  };
}

/**
 * The operators' reports. They read the hourly rollups (kept current by the event recorder), so
 * a 30-day question touches a few thousand rows however many events there are.
 */
@Injectable()
export class AnalyticsService {
  constructor(
    private readonly database: AnalyticsDatabase,
    private readonly main: Sql,
    private readonly clock: Clock,
  ) {}

  range(query: AnalyticsQueryDto): Range {
    const to = query.to ? new Date(query.to) : this.clock.now();
    const from = query.from ? new Date(query.from) : new Date(to.getTime() - 30 * DAY_MS);
    if (from >= to) throw new InvalidRangeError('`from` must be before `to`.');
    if (to.getTime() - from.getTime() > MAX_RANGE_DAYS * DAY_MS) {
      throw new InvalidRangeError(`The range may span at most ${MAX_RANGE_DAYS} days.`);
    }
    return {
      from,
      to,
      purpose: query.purpose,
      country: query.country,
      groupBy: query.groupBy ?? 'day',
    };
  }

  private filters(range: Range, values: unknown[]): string {
    values.push(range.from, range.to);
    const clauses = [`bucket >= date_trunc('hour', $1::timestamptz)`, `bucket < $2`];
    if (range.purpose) clauses.push(`purpose = $${values.push(range.purpose)}`);
    if (range.country) clauses.push(`country_code = $${values.push(range.country)}`);
    return clauses.join(' AND ');
  }

  /** Rollup sums per status and per `group` (an SQL expression, selected as `grouped`). */
  private async rollups(range: Range, group?: string): Promise<RollupRow[]> {
    const values: unknown[] = [];
    const where = this.filters(range, values);
    const keys = group ? `${group} AS grouped, status` : 'status';
    const groupBy = group ? `${group}, status` : 'status';
    return this.database.rows<RollupRow>(
      `SELECT ${keys}, ${SUMS} FROM sms_event_rollups WHERE ${where} GROUP BY ${groupBy}`,
      values,
    );
  }

  async summary(query: AnalyticsQueryDto) {
    const range = this.range(query);
    const totals = emptyTotals();
    for (const row of await this.rollups(range)) add(totals, row);
    return {
      range: { from: range.from.toISOString(), to: range.to.toISOString() },
      counts: {
        sent: totals.sent,
        delivered: totals.delivered,
        undelivered: totals.undelivered,
        failed: totals.failed,
        verified: totals.verified,
        expired: totals.expired,
        rateLimited: totals.rate_limited,
        suppressed: totals.suppressed,
        held: totals.held,
      },
      ...rates(totals),
      responseTimeMs: {
        p50: percentile(totals.histogram, 0.5),
        p95: percentile(totals.histogram, 0.95),
        average:
          totals.responseCount === 0
            ? null
            : Math.round(totals.responseMsSum / totals.responseCount),
      },
      cost: this.cost(totals),
    };
  }

  private cost(totals: Totals) {
    return {
      total: Math.round(totals.cost * 1_000_000) / 1_000_000,
      // Which share of the total is Twilio's real price, and which our price-table estimate.
      estimatedShare: ratio(totals.estimatedCostEvents, totals.sent),
      source:
        totals.sent === 0
          ? 'none'
          : totals.estimatedCostEvents === 0
            ? 'twilio'
            : totals.estimatedCostEvents === totals.sent
              ? 'estimate'
              : 'mixed',
      perVerifiedUser:
        totals.verified === 0
          ? null
          : Math.round((totals.cost / totals.verified) * 1_000_000) / 1_000_000,
    };
  }

  private period(range: Range): string {
    return `date_trunc('${range.groupBy}', bucket)`;
  }

  private series(rows: RollupRow[]): Map<string, Totals> {
    const grouped = new Map<string, Totals>();
    for (const row of rows) {
      const value = row.grouped;
      const name = value instanceof Date ? value.toISOString() : String(value);
      if (!grouped.has(name)) grouped.set(name, emptyTotals());
      add(grouped.get(name)!, row);
    }
    return new Map([...grouped.entries()].sort(([left], [right]) => left.localeCompare(right)));
  }

  async successRates(query: AnalyticsQueryDto) {
    const range = this.range(query);
    const overTime = this.series(await this.rollups(range, this.period(range)));
    const perPurpose = this.series(await this.rollups(range, 'purpose'));
    return {
      groupBy: range.groupBy,
      overTime: [...overTime].map(([period, totals]) => ({
        period,
        sent: totals.sent,
        delivered: totals.delivered,
        verified: totals.verified,
        ...rates(totals),
      })),
      perPurpose: [...perPurpose].map(([purpose, totals]) => ({
        purpose,
        sent: totals.sent,
        ...rates(totals),
      })),
    };
  }

  async costs(query: AnalyticsQueryDto) {
    const range = this.range(query);
    const totals = emptyTotals();
    const overTime = this.series(await this.rollups(range, this.period(range)));
    for (const period of overTime.values()) {
      for (const key of ['sent', 'verified', 'cost', 'estimatedCostEvents'] as const)
        totals[key] += period[key];
    }
    const perCountry = this.series(await this.rollups(range, 'country_code'));
    return {
      groupBy: range.groupBy,
      ...this.cost(totals),
      overTime: [...overTime].map(([period, value]) => ({
        period,
        cost: round(value.cost),
        sent: value.sent,
      })),
      perCountry: [...perCountry].map(([country, value]) => ({
        country,
        cost: round(value.cost),
        sent: value.sent,
        perVerifiedUser: value.verified === 0 ? null : round(value.cost / value.verified),
      })),
    };
  }

  async countries(query: AnalyticsQueryDto) {
    const range = this.range(query);
    const perCountry = this.series(await this.rollups(range, 'country_code'));
    const held = await this.main.rows<{ scope_key: string; mode: string }>(
      `SELECT scope_key, mode FROM sms_holds WHERE scope = 'country' AND lifted_at IS NULL AND expires_at > $1`,
      [this.clock.now()],
    );
    const holds = new Map(held.map((hold) => [hold.scope_key, hold.mode]));
    return {
      countries: [...perCountry].map(([country, totals]) => ({
        country,
        sent: totals.sent,
        delivered: totals.delivered,
        verified: totals.verified,
        ...rates(totals),
        cost: round(totals.cost),
        held: holds.has(country),
        holdMode: holds.get(country) ?? null,
      })),
    };
  }

  async failures(query: AnalyticsQueryDto) {
    const range = this.range(query);
    const values: unknown[] = [range.from, range.to];
    const clauses = [
      `occurred_at >= $1`,
      `occurred_at < $2`,
      `status IN ('failed', 'undelivered')`,
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
        GROUP BY error_code, status ORDER BY count(*) DESC LIMIT 10`,
      values,
    );
    const recent = await this.database.rows<Record<string, unknown>>(
      `SELECT occurred_at, status, error_code, error_message, country_code, purpose, channel
         FROM sms_events WHERE ${where} ORDER BY occurred_at DESC LIMIT 20`,
      values,
    );
    return {
      topErrors: top.map((row) => ({
        errorCode: row.error_code,
        status: row.status,
        count: Number(row.count),
        meaning: row.error_code ? meaningOf(row.error_code) : 'Unknown',
      })),
      recent: recent.map((row) => ({
        occurredAt: (row.occurred_at as Date).toISOString(),
        status: row.status,
        errorCode: row.error_code,
        errorMessage: row.error_message,
        country: row.country_code,
        purpose: row.purpose,
        channel: row.channel,
      })),
    };
  }
}

function round(value: number): number {
  return Math.round(value * 1_000_000) / 1_000_000;
}

/** Twilio delivery codes, or our own provider error codes (already self-explanatory). */
function meaningOf(code: string): string {
  return /^\d+$/.test(code) ? describeDeliveryError(code) : code.toLowerCase().replace(/_/g, ' ');
}
