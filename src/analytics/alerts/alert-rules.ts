import { AlertsConfig } from './alerts.config';

/**
 * The alert rules of docs/PRODUCT.md#alerts; the names are also the `rule` label of ops/prometheus.
 */
export const ALERT_RULES = [
  'failure_rate',
  'response_time',
  'rate_limit_violations',
  'daily_cost',
  'webhook_failures',
  'pumping_hold',
  'security_incidents',
] as const;
export type AlertRule = (typeof ALERT_RULES)[number];

/** What the evaluator measured; windows end at the evaluation time. */
export interface AlertMeasurements {
  /** Send attempts of the last hour: `sent` plus `failed` events. */
  sends: number;
  /** `failed` plus `undelivered` events of the last hour. */
  failures: number;
  /**
   * p95 response time of every SMS and auth request of the last hour, read from a histogram: the
   * upper bound of its bucket (exact against thresholds that are bucket bounds, like 2000 ms).
   */
  responseTimeP95Ms: number | null;
  rateLimitViolations: number;
  /** Spend since midnight UTC. */
  dailyCost: number;
  webhookFailures: number;
  /** Pumping holds active now (placed, not lifted, not expired). */
  pumpingHolds: PumpingHoldMeasurement[];
  /** SMS_PUMPING_MIN_CONVERSION: below it a scope is held. */
  pumpingMinConversion: number;
  /** Security incidents of the last hour (see SECURITY_INCIDENT_KINDS). */
  securityIncidents: number;
}

/** What an operator needs to judge a hold from the alert alone. */
export interface PumpingHoldMeasurement {
  id: string;
  scope: 'prefix' | 'country';
  label: string;
  mode: 'enforced' | 'shadow';
  sends: number;
  verified: number;
  ranges: number | null;
  networks: number | null;
}

/** One rule's verdict: above its threshold (an alert opens or stays open) or not (it resolves). */
export interface AlertVerdict {
  rule: AlertRule;
  /**
   * What the verdict is about when a rule watches several things at once: pumping_hold has one
   * alert per hold (its id), each opened, announced and resolved on its own. Absent: the service.
   */
  subject?: string;
  firing: boolean;
  value: number;
  threshold: number;
  message: string;
}

const percent = (fraction: number): string => `${Math.round(fraction * 1000) / 10}%`;

/**
 * Judges every rule; a rule that is off or lacks data is "not firing", which resolves it. Per
 * subject rules (pumping_hold) have a firing verdict per subject; a subject without one resolves.
 */
export function judgeAlerts(
  measured: AlertMeasurements,
  config: AlertsConfig,
  currency: string,
): AlertVerdict[] {
  const failureRate = measured.sends === 0 ? 0 : measured.failures / measured.sends;
  const p95 = Math.round(measured.responseTimeP95Ms ?? 0);
  const dailyCost = Math.round(measured.dailyCost * 1_000_000) / 1_000_000;
  return [
    {
      rule: 'failure_rate',
      // A handful of sends says little about a rate; the count is the attempts, so an outage in
      // which every send fails is still judged.
      firing: measured.sends >= config.minSends && failureRate > config.failureRate,
      value: Math.round(failureRate * 10_000) / 10_000,
      threshold: config.failureRate,
      message:
        `SMS failure rate ${percent(failureRate)} over the last hour ` +
        `(${measured.failures} failed or undelivered of ${measured.sends} sends) is above ${percent(config.failureRate)}`,
    },
    {
      rule: 'response_time',
      firing: p95 > config.responseTimeMs,
      value: p95,
      threshold: config.responseTimeMs,
      message: `p95 response time of the SMS and auth endpoints over the last hour is ${p95} ms, above ${config.responseTimeMs} ms`,
    },
    {
      rule: 'rate_limit_violations',
      firing: measured.rateLimitViolations > config.rateLimitViolationsPerHour,
      value: measured.rateLimitViolations,
      threshold: config.rateLimitViolationsPerHour,
      message: `${measured.rateLimitViolations} requests refused by rate limits in the last hour, more than ${config.rateLimitViolationsPerHour}`,
    },
    {
      rule: 'daily_cost',
      firing: config.dailyCost !== undefined && dailyCost > config.dailyCost,
      value: dailyCost,
      threshold: config.dailyCost ?? 0,
      message:
        `SMS spend today (UTC) is ${dailyCost} ${currency}, above ${config.dailyCost ?? 0} ${currency}` +
        (config.dailyCostSource?.variable === 'SMS_DAILY_BUDGET'
          ? ` (${percent(config.dailyCostSource.share)} of SMS_DAILY_BUDGET; sends stop at the budget)`
          : ''),
    },
    {
      rule: 'webhook_failures',
      firing: measured.webhookFailures > config.webhookFailuresPerHour,
      value: measured.webhookFailures,
      threshold: config.webhookFailuresPerHour,
      message:
        `${measured.webhookFailures} Twilio status callbacks refused or failed in the last hour, ` +
        `more than ${config.webhookFailuresPerHour} (check TWILIO_AUTH_TOKEN and PUBLIC_BASE_URL)`,
    },
    {
      rule: 'security_incidents',
      firing: measured.securityIncidents > config.securityIncidentsPerHour,
      value: measured.securityIncidents,
      threshold: config.securityIncidentsPerHour,
      message:
        `${measured.securityIncidents} security incidents in the last hour (code budgets spent, ` +
        `code-check or password limits hit, bad webhook signatures), more than ` +
        `${config.securityIncidentsPerHour}; GET /analytics/sms/security shows which`,
    },
    ...measured.pumpingHolds.map((hold) => pumpingHoldVerdict(hold, measured.pumpingMinConversion)),
  ];
}

/** A hold is news for as long as it lasts: its alert opens with it and resolves when it ends. */
function pumpingHoldVerdict(hold: PumpingHoldMeasurement, minConversion: number): AlertVerdict {
  const conversion = hold.sends === 0 ? 0 : hold.verified / hold.sends;
  const what = hold.scope === 'country' ? `country ${hold.label}` : `number range ${hold.label}`;
  const spread =
    hold.scope === 'country'
      ? `, the unverified ones to ${hold.ranges ?? 0} number ranges from ${hold.networks ?? 0} client networks`
      : '';
  const effect =
    hold.mode === 'enforced'
      ? 'Numbers that verified before still get their codes; others are answered as usual and get nothing.'
      : 'Shadow mode: reported only, sends continue.';
  return {
    rule: 'pumping_hold',
    subject: hold.id,
    firing: true,
    value: Math.round(conversion * 1000) / 1000,
    threshold: minConversion,
    message:
      `SMS pumping suspected: ${what} held (${hold.mode}). ${hold.verified} of ${hold.sends} codes ` +
      `verified (${percent(conversion)}, below ${percent(minConversion)})${spread}. ${effect} ` +
      `Lift it on the dashboard (/admin) or with DELETE /admin/sms/holds/${hold.id}.`,
  };
}
