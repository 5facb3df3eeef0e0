import { Injectable } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { Clock } from '../common/clock';
import { SECURITY_INCIDENT_KINDS, SecurityIncidentKind } from '../common/events/sms-events';
import { ProductError } from '../common/errors/product-error';
import { Configuration } from '../config/configuration';
import { SmsHoldRepository } from '../sms/abuse/pumping/sms-hold.repository';
import { describeDeliveryError } from '../sms/providers/twilio/twilio-status-callback';
import { AnalyticsQueryDto } from './dto/analytics-query.dto';
import {
  Totals,
  add,
  byDetail,
  deliveryTracking,
  detailCount,
  emptyTotals,
  incidentTotals,
  incidents,
  rates,
  ratio,
  round,
  sum,
} from './report-totals';
import { ReportRange, ReportsRepository, RollupRow } from './reports.repository';
import { percentileOf } from './response-time-histogram';

const DAY_MS = 86_400_000;
const MAX_RANGE_DAYS = 366;

export class InvalidRangeError extends ProductError {
  constructor(message: string) {
    super('INVALID_RANGE', message, 'invalid_input');
  }
}

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

/**
 * The operators' reports. They read the hourly rollups (kept current by the event recorder), so
 * a 30-day question touches a few thousand rows however many events there are.
 */
@Injectable()
export class AnalyticsService {
  private readonly currency: string;

  constructor(
    private readonly reports: ReportsRepository,
    private readonly holds: SmsHoldRepository,
    private readonly clock: Clock,
    config: ConfigService<Configuration, true>,
  ) {
    this.currency = config.get('budget', { infer: true }).currency;
  }

  range(query: AnalyticsQueryDto): ReportRange {
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

  private async totals(range: ReportRange): Promise<Totals> {
    const totals = emptyTotals();
    for (const row of await this.reports.rollups(range)) add(totals, row);
    return totals;
  }

  async summary(query: AnalyticsQueryDto) {
    const range = this.range(query);
    const [totals, histogram] = await Promise.all([
      this.totals(range),
      this.reports.responseTimeHistogram(range),
    ]);
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
        this.reports.rollups(range, ['period']),
        this.reports.rollups(range, ['purpose']),
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
        this.reports.rollups(range, ['period']),
        this.reports.rollups(range, ['country_code']),
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
    const perCountry = this.series(await this.reports.rollups(range, ['country_code']));
    const holds = await this.holds.countryHoldModes(this.clock.now());
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
    const rows = await this.reports.rollups(
      range,
      ['period', 'country_code'],
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
    const { top, recent } = await this.reports.failures(range);
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

/** Twilio delivery codes, or our own error codes (already self-explanatory). */
function meaningOf(code: string): string {
  return /^\d+$/.test(code) ? describeDeliveryError(code) : code.toLowerCase().replace(/_/g, ' ');
}
