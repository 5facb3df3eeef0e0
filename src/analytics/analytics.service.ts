import { Injectable } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { Clock } from '../common/clock';
import {
  SECURITY_INCIDENT_KINDS,
  SMS_EVENT_STATUSES,
  SecurityIncidentKind,
  SmsEventStatus,
  securityIncidentOf,
} from '../common/events/sms-events';
import { ProductError } from '../common/errors/product-error';
import { Configuration } from '../config/configuration';
import { Sql } from '../database/sql';
import { AnalyticsDatabase } from './analytics-database';
import { describeDeliveryError } from '../sms/providers/twilio/twilio-status-callback';
import { AnalyticsQueryDto, GroupBy } from './dto/analytics-query.dto';
import { RESPONSE_TIME_BUCKETS, percentileOf } from './response-time-histogram';
import { sqlUtcPeriodOf } from './events/sms-event-rollup.entity';

const HOUR_MS = 3_600_000;
const DAY_MS = 86_400_000;
const PERIODS = { day: '1 day', week: '7 days' } as const;
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
  groupBy: GroupBy;
}

/**
 * The only channel whose sends get delivery receipts: Twilio Messaging's status callbacks.
 * Verify has no per-message callback, and the console provider sends nothing.
 */
const RECEIPT_CHANNELS = new Set(['twilio-messaging']);

/** What a security incident kind means, for operators. */
const INCIDENT_MEANINGS: Record<SecurityIncidentKind, string> = {
  'code-attempts': "A code check that used up its verification's wrong-code attempts",
  'verify-phone': 'Code checks for one number from one client refused by SMS_VERIFY_PHONE_LIMIT',
  'verify-phone-ceiling':
    'Code checks for one number from all clients refused by SMS_VERIFY_PHONE_CEILING',
  'verify-ip': 'Code checks from one IP refused by SMS_VERIFY_IP_LIMIT',
  'password-phone':
    'Password attempts for one number from one client refused by AUTH_PASSWORD_ATTEMPTS_LIMIT',
  'password-phone-ceiling':
    'Password attempts for one number from all clients refused by AUTH_PASSWORD_ATTEMPTS_CEILING',
  'password-ip': 'Password attempts from one IP refused by AUTH_PASSWORD_IP_ATTEMPTS_LIMIT',
  'webhook-signature': 'A Twilio status callback with a missing or wrong signature',
};

interface Totals {
  counts: Record<SmsEventStatus, number>;
  /** Events per status and detail (the refusing layer, else the channel). */
  details: Map<SmsEventStatus, Map<string, number>>;
  cost: number;
  estimatedCostEvents: number;
  responseCount: number;
  responseMsSum: number;
}

type RollupRow = Record<string, string | Date | null>;

const HISTOGRAM_SUMS = Array.from(
  { length: RESPONSE_TIME_BUCKETS },
  (_, index) => `sum(rt_histogram[${index + 1}]) AS h${index}`,
).join(', ');
const SUMS = `sum(events) AS events, sum(cost) AS cost, sum(estimated_cost_events) AS estimated,
  sum(response_count) AS response_count, sum(response_ms_sum) AS response_ms_sum`;

function emptyTotals(): Totals {
  return {
    counts: Object.fromEntries(SMS_EVENT_STATUSES.map((status) => [status, 0])) as Record<
      SmsEventStatus,
      number
    >,
    details: new Map(),
    cost: 0,
    estimatedCostEvents: 0,
    responseCount: 0,
    responseMsSum: 0,
  };
}

function add(totals: Totals, row: RollupRow): void {
  const status = String(row.status) as SmsEventStatus;
  if (!(status in totals.counts)) return;
  const events = Number(row.events ?? 0);
  totals.counts[status] += events;
  const detail = String(row.detail ?? '-');
  if (!totals.details.has(status)) totals.details.set(status, new Map());
  const details = totals.details.get(status)!;
  details.set(detail, (details.get(detail) ?? 0) + events);
  if (status === 'sent') {
    totals.cost += Number(row.cost ?? 0);
    totals.estimatedCostEvents += Number(row.estimated ?? 0);
  }
  totals.responseCount += Number(row.response_count ?? 0);
  totals.responseMsSum += Number(row.response_ms_sum ?? 0);
}

const ratio = (part: number, whole: number): number | null =>
  whole === 0 ? null : Math.round((part / whole) * 10_000) / 10_000;

function detailCount(totals: Totals, status: SmsEventStatus, detail: string): number {
  return totals.details.get(status)?.get(detail) ?? 0;
}

/** Sends whose delivery Twilio reports back (Messaging), and the others (Verify, console). */
function deliveryTracking(totals: Totals) {
  let trackedSends = 0;
  for (const channel of RECEIPT_CHANNELS) trackedSends += detailCount(totals, 'sent', channel);
  return { trackedSends, untrackedSends: totals.counts.sent - trackedSends };
}

/**
 * Rates over real sends only: test numbers and suppressed sends have statuses of their own. The
 * delivery rate is over the receipts that came back, so it is null (not tracked) when no send
 * of the period went through a channel with receipts.
 */
function rates(totals: Totals) {
  const { counts } = totals;
  const { trackedSends } = deliveryTracking(totals);
  return {
    deliveryRate:
      trackedSends === 0 ? null : ratio(counts.delivered, counts.delivered + counts.undelivered),
    verificationRate: ratio(counts.verified, counts.sent),
    failureRate: ratio(counts.failed + counts.undelivered, counts.sent + counts.failed),
  };
}

/** The details of one status, largest first. */
function byDetail(totals: Totals, status: SmsEventStatus): { layer: string; count: number }[] {
  return [...(totals.details.get(status) ?? new Map<string, number>())]
    .filter(([, count]) => count > 0)
    .map(([layer, count]) => ({ layer, count }))
    .sort((left, right) => right.count - left.count || left.layer.localeCompare(right.layer));
}

function incidents(totals: Totals): Record<SecurityIncidentKind, number> {
  const byKind = Object.fromEntries(SECURITY_INCIDENT_KINDS.map((kind) => [kind, 0])) as Record<
    SecurityIncidentKind,
    number
  >;
  for (const status of ['security', 'rate_limited'] as const) {
    for (const [layer, count] of totals.details.get(status) ?? []) {
      const kind = securityIncidentOf({ status, layer });
      if (kind) byKind[kind] += count;
    }
  }
  return byKind;
}

const sum = (values: number[]): number => values.reduce((total, value) => total + value, 0);

/**
 * The operators' reports. They read the hourly rollups (kept current by the event recorder), so
 * a 30-day question touches a few thousand rows however many events there are.
 */
@Injectable()
export class AnalyticsService {
  private readonly currency: string;

  constructor(
    private readonly database: AnalyticsDatabase,
    private readonly main: Sql,
    private readonly clock: Clock,
    config: ConfigService<Configuration, true>,
  ) {
    this.currency = config.get('budget', { infer: true }).currency;
  }

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
    // The hour that holds `from`, worked out here: a plain value keeps the scan a range scan.
    values.push(new Date(Math.floor(range.from.getTime() / HOUR_MS) * HOUR_MS), range.to);
    const clauses = [`bucket >= $1`, `bucket < $2`];
    if (range.purpose) clauses.push(`purpose = $${values.push(range.purpose)}`);
    if (range.country) clauses.push(`country_code = $${values.push(range.country)}`);
    return clauses.join(' AND ');
  }

  /**
   * Rollup sums per status and detail, and per `groups` (SQL expressions, selected as `grouped`,
   * `grouped2`…); `statuses` limits the rows read.
   */
  private async rollups(
    range: Range,
    groups: string[] = [],
    statuses?: readonly SmsEventStatus[],
  ): Promise<RollupRow[]> {
    const values: unknown[] = [];
    let where = this.filters(range, values);
    if (statuses) where += ` AND status = ANY($${values.push(statuses)})`;
    const names = groups.map((group, index) => `${group} AS grouped${index || ''}`);
    const keys = [...names, 'status', 'detail'].join(', ');
    const groupBy = [...groups, 'status', 'detail'].join(', ');
    return this.database.rows<RollupRow>(
      `SELECT ${keys}, ${SUMS} FROM sms_event_rollups WHERE ${where} GROUP BY ${groupBy}`,
      values,
    );
  }

  private async totals(range: Range): Promise<Totals> {
    const totals = emptyTotals();
    for (const row of await this.rollups(range)) add(totals, row);
    return totals;
  }

  /** The response-time histogram of the range (sms_response_time_rollups). */
  private async histogram(range: Range): Promise<number[]> {
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

  async summary(query: AnalyticsQueryDto) {
    const range = this.range(query);
    const [totals, histogram] = await Promise.all([this.totals(range), this.histogram(range)]);
    const { counts } = totals;
    const byKind = incidents(totals);
    return {
      range: { from: range.from.toISOString(), to: range.to.toISOString() },
      counts: {
        sent: counts.sent,
        delivered: counts.delivered,
        undelivered: counts.undelivered,
        failed: counts.failed,
        verified: counts.verified,
        expired: counts.expired,
        rateLimited: counts.rate_limited,
        suppressed: counts.suppressed,
        held: counts.held,
        wrongCodes: counts.wrong_code,
        refused: counts.refused,
        securityIncidents: sum(Object.values(byKind)),
      },
      testNumbers: {
        sent: counts.test_sent,
        verified: counts.test_verified,
        expired: counts.test_expired,
      },
      ...rates(totals),
      delivery: deliveryTracking(totals),
      rateLimitedByLayer: byDetail(totals, 'rate_limited'),
      heldByLayer: byDetail(totals, 'held'),
      refusedByLayer: byDetail(totals, 'refused'),
      securityByKind: SECURITY_INCIDENT_KINDS.map((kind) => ({ kind, count: byKind[kind] })),
      responseTimeMs: {
        p50: percentileOf(histogram, 0.5),
        p95: percentileOf(histogram, 0.95),
        average:
          totals.responseCount === 0
            ? null
            : Math.round(totals.responseMsSum / totals.responseCount),
        // Read from a histogram: each percentile is the upper bound of its bucket.
        approximate: true,
      },
      cost: this.cost(totals),
    };
  }

  private cost(totals: Totals) {
    const sent = totals.counts.sent;
    return {
      total: round(totals.cost),
      currency: this.currency,
      // Which share of the total is Twilio's real price, and which our price-table estimate.
      estimatedShare: ratio(totals.estimatedCostEvents, sent),
      source:
        sent === 0
          ? 'none'
          : totals.estimatedCostEvents === 0
            ? 'twilio'
            : totals.estimatedCostEvents === sent
              ? 'estimate'
              : 'mixed',
      perVerifiedUser:
        totals.counts.verified === 0 ? null : round(totals.cost / totals.counts.verified),
    };
  }

  private period(range: Range): string {
    return range.groupBy === 'hour' ? 'bucket' : sqlUtcPeriodOf('bucket', PERIODS[range.groupBy]);
  }

  /** Totals per value of `key` (a grouped column). */
  private series(rows: RollupRow[], key = 'grouped'): Map<string, Totals> {
    const grouped = new Map<string, Totals>();
    for (const row of rows) {
      const value = row[key];
      const name = value instanceof Date ? value.toISOString() : String(value);
      if (!grouped.has(name)) grouped.set(name, emptyTotals());
      add(grouped.get(name)!, row);
    }
    return new Map([...grouped.entries()].sort(([left], [right]) => left.localeCompare(right)));
  }

  async successRates(query: AnalyticsQueryDto) {
    const range = this.range(query);
    const [overTime, perPurpose] = (
      await Promise.all([
        this.rollups(range, [this.period(range)]),
        this.rollups(range, ['purpose']),
      ])
    ).map((rows) => this.series(rows));
    return {
      groupBy: range.groupBy,
      overTime: [...overTime].map(([period, totals]) => ({
        period,
        sent: totals.counts.sent,
        delivered: totals.counts.delivered,
        verified: totals.counts.verified,
        untrackedSends: deliveryTracking(totals).untrackedSends,
        ...rates(totals),
      })),
      perPurpose: [...perPurpose].map(([purpose, totals]) => ({
        purpose,
        sent: totals.counts.sent,
        verified: totals.counts.verified,
        untrackedSends: deliveryTracking(totals).untrackedSends,
        ...rates(totals),
      })),
    };
  }

  async costs(query: AnalyticsQueryDto) {
    const range = this.range(query);
    const [overTime, perCountry] = (
      await Promise.all([
        this.rollups(range, [this.period(range)]),
        this.rollups(range, ['country_code']),
      ])
    ).map((rows) => this.series(rows));
    const totals = emptyTotals();
    for (const period of overTime.values()) {
      totals.counts.sent += period.counts.sent;
      totals.counts.verified += period.counts.verified;
      totals.cost += period.cost;
      totals.estimatedCostEvents += period.estimatedCostEvents;
    }
    return {
      groupBy: range.groupBy,
      ...this.cost(totals),
      overTime: [...overTime].map(([period, value]) => ({
        period,
        cost: round(value.cost),
        sent: value.counts.sent,
      })),
      perCountry: [...perCountry].map(([country, value]) => ({
        country,
        cost: round(value.cost),
        sent: value.counts.sent,
        perVerifiedUser:
          value.counts.verified === 0 ? null : round(value.cost / value.counts.verified),
      })),
    };
  }

  async countries(query: AnalyticsQueryDto) {
    const range = this.range(query);
    const perCountry = this.series(await this.rollups(range, ['country_code']));
    const held = await this.main.rows<{ scope_key: string; mode: string }>(
      `SELECT scope_key, mode FROM sms_holds WHERE scope = 'country' AND lifted_at IS NULL AND expires_at > $1`,
      [this.clock.now()],
    );
    const holds = new Map(held.map((hold) => [hold.scope_key, hold.mode]));
    return {
      currency: this.currency,
      // '--' gathers events with no destination (a forged callback): not a country.
      countries: [...perCountry]
        .filter(([country]) => country !== '--')
        .map(([country, totals]) => ({
          country,
          sent: totals.counts.sent,
          delivered: totals.counts.delivered,
          verified: totals.counts.verified,
          untrackedSends: deliveryTracking(totals).untrackedSends,
          ...rates(totals),
          cost: round(totals.cost),
          // Sends refused for the number (a country not served, a landline): pumping shows here.
          refused:
            detailCount(totals, 'refused', 'country') + detailCount(totals, 'refused', 'line-type'),
          held: holds.has(country),
          holdMode: holds.get(country) ?? null,
        })),
    };
  }

  /** Security incidents by kind, over time and per country, with the wrong codes beside them. */
  async security(query: AnalyticsQueryDto) {
    const range = this.range(query);
    // One read of the few rows that can hold incidents, by period and country.
    const rows = await this.rollups(
      range,
      [this.period(range), 'country_code'],
      ['security', 'rate_limited', 'wrong_code', 'refused'],
    );
    const totals = emptyTotals();
    for (const row of rows) add(totals, row);
    const byKind = incidents(totals);
    const overTime = this.series(rows);
    const perCountry = this.series(rows, 'grouped1');
    return {
      range: { from: range.from.toISOString(), to: range.to.toISOString() },
      groupBy: range.groupBy,
      total: sum(Object.values(byKind)),
      byKind: SECURITY_INCIDENT_KINDS.map((kind) => ({
        kind,
        count: byKind[kind],
        meaning: INCIDENT_MEANINGS[kind],
      })),
      wrongCodes: totals.counts.wrong_code,
      refusedByLayer: byDetail(totals, 'refused'),
      overTime: [...overTime]
        .map(([period, value]) => ({ period, ...incidentTotals(value) }))
        .filter((point) => point.total > 0 || point.wrongCodes > 0),
      perCountry: [...perCountry]
        .map(([country, value]) => ({ country, ...incidentTotals(value) }))
        .filter((row) => row.total > 0 || row.wrongCodes > 0)
        .sort((left, right) => right.total - left.total),
    };
  }

  async failures(query: AnalyticsQueryDto) {
    const range = this.range(query);
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

function incidentTotals(totals: Totals) {
  const byKind = incidents(totals);
  return { total: sum(Object.values(byKind)), wrongCodes: totals.counts.wrong_code, byKind };
}

function round(value: number): number {
  return Math.round(value * 1_000_000) / 1_000_000;
}

/** Twilio delivery codes, or our own error codes (already self-explanatory). */
function meaningOf(code: string): string {
  return /^\d+$/.test(code) ? describeDeliveryError(code) : code.toLowerCase().replace(/_/g, ' ');
}
