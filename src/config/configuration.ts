import type { AnalyticsConfig } from '../analytics/analytics.config';
import type { AlertsConfig } from '../analytics/alerts/alerts.config';
import type { AppConfig } from '../app.config';
import type { AuthConfig } from '../auth/auth.config';
import type { SecurityConfig } from '../common/security.config';
import type { DatabaseConfig } from '../database/database.config';
import type { MetricsConfig } from '../metrics/metrics.config';
import type { PhoneConfig } from '../phone/phone.config';
import type { RateLimitConfig } from '../rate-limit/rate-limit.config';
import type { RedisConfig } from '../redis/redis.config';
import type { RetentionConfig } from '../retention/retention.config';
import type {
  BudgetConfig,
  PumpingConfig,
  SmsLimitsConfig,
  SuppressionConfig,
} from '../sms/abuse/abuse.config';
import type { SmsConfig, TwilioConfig } from '../sms/sms.config';

/** The typed configuration, one section per module, read through ConfigService<Configuration, true>. */
export interface Configuration {
  app: AppConfig;
  security: SecurityConfig;
  database: DatabaseConfig;
  redis: RedisConfig;
  phone: PhoneConfig;
  sms: SmsConfig;
  twilio: TwilioConfig;
  rateLimit: RateLimitConfig;
  smsLimits: SmsLimitsConfig;
  pumping: PumpingConfig;
  budget: BudgetConfig;
  suppression: SuppressionConfig;
  analytics: AnalyticsConfig;
  alerts: AlertsConfig;
  metrics: MetricsConfig;
  auth: AuthConfig;
  retention: RetentionConfig;
}
