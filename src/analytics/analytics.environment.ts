import { Transform } from 'class-transformer';
import { IsBoolean, IsInt, IsOptional, Matches, Max, Min } from 'class-validator';
import { toBoolean, toInteger, toTrimmed } from '../common/environment-transforms';
import { POSTGRES_URL } from '../database/database.environment';

/** Events and delivery tracking (analytics.config.ts, docs/PRODUCT.md). */
export class AnalyticsEnvironment {
  @Transform(toBoolean)
  @IsBoolean()
  ENABLE_SMS_ANALYTICS = true;

  @Transform(toTrimmed)
  @IsOptional()
  @Matches(POSTGRES_URL, { message: 'ANALYTICS_DB_URL must be a postgres:// or postgresql:// URL' })
  ANALYTICS_DB_URL?: string;

  @Transform(toInteger)
  @IsInt()
  @Min(50)
  @Max(60_000)
  ANALYTICS_FLUSH_INTERVAL_MS = 1_000;

  @Transform(toInteger)
  @IsInt()
  @Min(1)
  @Max(2_000)
  ANALYTICS_BATCH_SIZE = 500;

  @Transform(toInteger)
  @IsInt()
  @Min(1_000)
  ANALYTICS_MAX_BUFFERED = 50_000;

  @Transform(toBoolean)
  @IsBoolean()
  TWILIO_LOOKUP_ENABLED = false;

  @Transform(toInteger)
  @IsInt()
  @Min(0)
  TWILIO_PRICE_FETCH_DELAY_MS = 60_000;

  @Transform(toInteger)
  @IsInt()
  @Min(1_000)
  @Max(86_400_000)
  TWILIO_PRICE_POLL_INTERVAL_MS = 60_000;
}
