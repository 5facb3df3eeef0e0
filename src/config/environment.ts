import { ClassConstructor, plainToInstance } from 'class-transformer';
import { getMetadataStorage, validateSync, ValidationError } from 'class-validator';
import { AlertsEnvironment } from '../analytics/alerts/alerts.environment';
import { AnalyticsEnvironment } from '../analytics/analytics.environment';
import { AppEnvironment } from '../app.environment';
import { AuthEnvironment } from '../auth/auth.environment';
import { SecurityEnvironment } from '../common/security.environment';
import { DatabaseEnvironment } from '../database/database.environment';
import { MetricsEnvironment } from '../metrics/metrics.environment';
import { PhoneEnvironment } from '../phone/phone.environment';
import { RateLimitEnvironment } from '../rate-limit/rate-limit.environment';
import { RedisEnvironment } from '../redis/redis.environment';
import { RetentionEnvironment } from '../retention/retention.environment';
import { SmsAbuseEnvironment } from '../sms/abuse/abuse.environment';
import { SmsEnvironment, TwilioEnvironment } from '../sms/sms.environment';

/**
 * Every environment variable the service reads, with its default, declared by the module that
 * reads it: a class-validator class in a `*.environment.ts` beside the module's `*.config.ts`.
 * `.env.example` documents the same list; `environment.spec.ts` fails when the two drift apart.
 *
 * In this order the sections are validated and their problems reported (the order of
 * `.env.example`). A variable belongs to one section only.
 */
export const ENVIRONMENT_SECTIONS: readonly ClassConstructor<object>[] = [
  AppEnvironment,
  SecurityEnvironment,
  AuthEnvironment,
  DatabaseEnvironment,
  RedisEnvironment,
  TwilioEnvironment,
  SmsEnvironment,
  SmsAbuseEnvironment,
  RateLimitEnvironment,
  AnalyticsEnvironment,
  PhoneEnvironment,
  MetricsEnvironment,
  AlertsEnvironment,
  RetentionEnvironment,
];

/** The validated environment: the variables of every section in one object. */
export type Environment = AppEnvironment &
  SecurityEnvironment &
  AuthEnvironment &
  DatabaseEnvironment &
  RedisEnvironment &
  TwilioEnvironment &
  SmsEnvironment &
  SmsAbuseEnvironment &
  RateLimitEnvironment &
  AnalyticsEnvironment &
  PhoneEnvironment &
  MetricsEnvironment &
  AlertsEnvironment &
  RetentionEnvironment;

export type RawEnvironment = Record<string, string | undefined>;

/** The variables a section declares: its properties that carry a class-validator decorator. */
export function declaredVariables(section: ClassConstructor<object>): string[] {
  const metadata = getMetadataStorage().getTargetValidationMetadatas(section, '', true, false);
  return [...new Set(metadata.map((entry) => entry.propertyName))];
}

/**
 * Reads every section from the raw environment, a default for each variable left unset, and
 * validates it. The errors come section by section, in ENVIRONMENT_SECTIONS order; the values are
 * only what the sections declare (not the rest of the process environment).
 */
export function readEnvironment(raw: RawEnvironment): {
  environment: Environment;
  errors: ValidationError[];
} {
  const values: Record<string, unknown> = {};
  const errors: ValidationError[] = [];
  for (const section of ENVIRONMENT_SECTIONS) {
    const instance = plainToInstance(section, { ...raw }, { exposeDefaultValues: true });
    errors.push(...validateSync(instance, { forbidUnknownValues: true }));
    for (const name of declaredVariables(section)) {
      values[name] = (instance as Record<string, unknown>)[name];
    }
  }
  return { environment: values as unknown as Environment, errors };
}
