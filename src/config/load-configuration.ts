import { ValidationError } from 'class-validator';
import { analyticsConfigFromEnvironment } from '../analytics/analytics.config';
import { alertsConfigFromEnvironment } from '../analytics/alerts/alerts.config';
import { appConfigFromEnvironment } from '../app.config';
import { authConfigFromEnvironment } from '../auth/auth.config';
import { databaseConfigFromEnvironment } from '../database/database.config';
import { metricsConfigFromEnvironment } from '../metrics/metrics.config';
import { rateLimitConfigFromEnvironment } from '../rate-limit/rate-limit.config';
import { redisConfigFromEnvironment } from '../redis/redis.config';
import { retentionConfigFromEnvironment } from '../retention/retention.config';
import { securityConfigFromEnvironment } from '../common/security.config';
import { phoneConfigFromEnvironment } from '../phone/phone.config';
import {
  budgetConfigFromEnvironment,
  pumpingConfigFromEnvironment,
  smsLimitsConfigFromEnvironment,
  suppressionConfigFromEnvironment,
} from '../sms/abuse/abuse.config';
import { smsConfigFromEnvironment, twilioConfigFromEnvironment } from '../sms/sms.config';
import { Configuration } from './configuration';
import { ConfigurationError } from './configuration-error';
import { RawEnvironment, readEnvironment } from './environment';
import { productionProblems } from './production-checks';

/** Values never echoed in an error message: they are secrets or may carry credentials. */
const SECRET_VARIABLES = new Set([
  'HASH_SECRET',
  'ADMIN_API_KEY',
  'JWT_SECRET',
  'TWILIO_AUTH_TOKEN',
  'DATABASE_URL',
  'ANALYTICS_DB_URL',
  'REDIS_URL',
  // URLs may carry user:password; test numbers pair numbers with their fixed codes.
  'PUBLIC_BASE_URL',
  'TWILIO_API_BASE_URL',
  'ALERT_WEBHOOK_URL',
  'SMS_TEST_NUMBERS',
]);

function describe(errors: ValidationError[]): string[] {
  return errors.flatMap((error) =>
    Object.values(error.constraints ?? {}).map((message) => {
      const named = message.startsWith(error.property) ? message : `${error.property}: ${message}`;
      return SECRET_VARIABLES.has(error.property)
        ? named
        : `${named} (got ${JSON.stringify(error.value)})`;
    }),
  );
}

/**
 * Validates the raw environment once, at boot, and builds the typed configuration every module
 * reads. Throws ConfigurationError naming each bad variable and what is wrong with it.
 */
export function loadConfiguration(raw: RawEnvironment): Configuration {
  const { environment, errors } = readEnvironment(raw);
  const problems = describe(errors);
  if (problems.length > 0) throw new ConfigurationError(problems);

  const sectionProblems: string[] = [];
  const configuration: Configuration = {
    app: appConfigFromEnvironment(environment, sectionProblems),
    security: securityConfigFromEnvironment(environment),
    database: databaseConfigFromEnvironment(environment),
    redis: redisConfigFromEnvironment(environment, sectionProblems),
    phone: phoneConfigFromEnvironment(environment, sectionProblems),
    sms: smsConfigFromEnvironment(environment, sectionProblems),
    twilio: twilioConfigFromEnvironment(environment),
    rateLimit: rateLimitConfigFromEnvironment(environment, sectionProblems),
    smsLimits: smsLimitsConfigFromEnvironment(environment, sectionProblems),
    pumping: pumpingConfigFromEnvironment(environment),
    budget: budgetConfigFromEnvironment(environment),
    suppression: suppressionConfigFromEnvironment(environment),
    analytics: analyticsConfigFromEnvironment(environment),
    alerts: alertsConfigFromEnvironment(environment),
    metrics: metricsConfigFromEnvironment(environment, sectionProblems),
    auth: authConfigFromEnvironment(environment, sectionProblems),
    retention: retentionConfigFromEnvironment(environment),
  };
  const crossChecks = [...sectionProblems, ...productionProblems(configuration)];
  if (crossChecks.length > 0) throw new ConfigurationError(crossChecks);
  return configuration;
}
