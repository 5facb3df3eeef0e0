import type { SmsAbuseEnvironment } from '../../sms/abuse/abuse.environment';
import { AlertsEnvironment } from './alerts.environment';

/** What the thresholds are read from: the daily-cost alert defaults to a share of the budget. */
type Environment = AlertsEnvironment & Pick<SmsAbuseEnvironment, 'SMS_DAILY_BUDGET'>;

/**
 * The alert thresholds of docs/PRODUCT.md#alerts; every rule looks at the last hour unless it says
 * otherwise.
 */
export interface AlertsConfig {
  /** Share of sends (0-1) that failed or went undelivered. */
  failureRate: number;
  /** Sends (sent + failed) below which the failure rate is not judged. */
  minSends: number;
  /** p95 response time of every request to the SMS and auth routes. */
  responseTimeMs: number;
  rateLimitViolationsPerHour: number;
  /** Spend of the current UTC day; undefined: no cost alert. */
  dailyCost?: number;
  /** Where dailyCost comes from, for the alert's message. */
  dailyCostSource?:
    { variable: 'ALERT_DAILY_COST' } | { variable: 'SMS_DAILY_BUDGET'; share: number };
  /** Security incidents (code budgets spent, check and password limits hit, bad webhook signatures). */
  securityIncidentsPerHour: number;
  webhookFailuresPerHour: number;
  evaluationIntervalMs: number;
  /** Where each new alert is POSTed as JSON; undefined: alerts are only logged and listed. */
  webhookUrl?: string;
}

/**
 * The daily-cost threshold: ALERT_DAILY_COST when set (0 turns the alert off), else, with a daily
 * budget, ALERT_DAILY_COST_BUDGET_SHARE of it, so spend is noticed before the budget stops sends.
 */
function dailyCostThreshold(
  environment: Environment,
): Pick<AlertsConfig, 'dailyCost' | 'dailyCostSource'> {
  if (environment.ALERT_DAILY_COST !== undefined) {
    return environment.ALERT_DAILY_COST > 0
      ? {
          dailyCost: environment.ALERT_DAILY_COST,
          dailyCostSource: { variable: 'ALERT_DAILY_COST' },
        }
      : {};
  }
  const share = environment.ALERT_DAILY_COST_BUDGET_SHARE;
  if (environment.SMS_DAILY_BUDGET <= 0 || share <= 0) return {};
  return {
    dailyCost: Math.round(environment.SMS_DAILY_BUDGET * share * 1_000_000) / 1_000_000,
    dailyCostSource: { variable: 'SMS_DAILY_BUDGET', share },
  };
}

export function alertsConfigFromEnvironment(environment: Environment): AlertsConfig {
  return {
    failureRate: environment.ALERT_FAILURE_RATE,
    minSends: environment.ALERT_MIN_SENDS,
    responseTimeMs: environment.ALERT_RESPONSE_TIME_MS,
    rateLimitViolationsPerHour: environment.ALERT_RATE_LIMIT_VIOLATIONS_PER_HOUR,
    ...dailyCostThreshold(environment),
    securityIncidentsPerHour: environment.ALERT_SECURITY_INCIDENTS_PER_HOUR,
    webhookFailuresPerHour: environment.ALERT_WEBHOOK_FAILURES_PER_HOUR,
    evaluationIntervalMs: environment.ALERT_EVALUATION_INTERVAL_MS,
    webhookUrl: environment.ALERT_WEBHOOK_URL,
  };
}
