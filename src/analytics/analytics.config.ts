import { AnalyticsEnvironment } from './analytics.environment';

export interface AnalyticsConfig {
  enabled: boolean;
  /** Events in a PostgreSQL database of their own; undefined: the main database. */
  databaseUrl?: string;
  flushIntervalMs: number;
  batchSize: number;
  /** Events held while the database is unreachable; older ones are dropped past this. */
  maxBuffered: number;
  lookupEnabled: boolean;
  priceFetchDelayMs: number;
  /** How often finished messages still without Twilio's price are looked for. */
  pricePollIntervalMs: number;
}

export function analyticsConfigFromEnvironment(environment: AnalyticsEnvironment): AnalyticsConfig {
  return {
    enabled: environment.ENABLE_SMS_ANALYTICS,
    databaseUrl: environment.ANALYTICS_DB_URL,
    flushIntervalMs: environment.ANALYTICS_FLUSH_INTERVAL_MS,
    batchSize: environment.ANALYTICS_BATCH_SIZE,
    maxBuffered: environment.ANALYTICS_MAX_BUFFERED,
    lookupEnabled: environment.TWILIO_LOOKUP_ENABLED,
    priceFetchDelayMs: environment.TWILIO_PRICE_FETCH_DELAY_MS,
    pricePollIntervalMs: environment.TWILIO_PRICE_POLL_INTERVAL_MS,
  };
}
