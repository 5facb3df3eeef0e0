import { Environment } from '../../config/environment';

/** The alert thresholds of SPEC.md §10; every rule looks at the last hour unless it says otherwise. */
export interface AlertsConfig {
  /** Share of sends (0-1) that failed or went undelivered. */
  failureRate: number;
  /** Sends (sent + failed) below which the failure rate is not judged. */
  minSends: number;
  /** p95 of the SMS endpoints' response time. */
  responseTimeMs: number;
  rateLimitViolationsPerHour: number;
  /** Spend of the current UTC day; undefined: no cost alert. */
  dailyCost?: number;
  webhookFailuresPerHour: number;
  evaluationIntervalMs: number;
  /** Where each new alert is POSTed as JSON; undefined: alerts are only logged and listed. */
  webhookUrl?: string;
}

export function alertsConfigFromEnvironment(environment: Environment): AlertsConfig {
  return {
    failureRate: environment.ALERT_FAILURE_RATE,
    minSends: environment.ALERT_MIN_SENDS,
    responseTimeMs: environment.ALERT_RESPONSE_TIME_MS,
    rateLimitViolationsPerHour: environment.ALERT_RATE_LIMIT_VIOLATIONS_PER_HOUR,
    dailyCost: environment.ALERT_DAILY_COST > 0 ? environment.ALERT_DAILY_COST : undefined,
    webhookFailuresPerHour: environment.ALERT_WEBHOOK_FAILURES_PER_HOUR,
    evaluationIntervalMs: environment.ALERT_EVALUATION_INTERVAL_MS,
    webhookUrl: environment.ALERT_WEBHOOK_URL,
  };
}
