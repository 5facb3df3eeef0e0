import { Transform } from 'class-transformer';
import { IsInt, IsNumber, IsOptional, IsUrl, Max, Min } from 'class-validator';
import {
  toDecimal,
  toInteger,
  toOptionalDecimal,
  toTrimmed,
} from '../../common/environment-transforms';

/** The alert thresholds (alerts.config.ts, docs/PRODUCT.md#alerts). */
export class AlertsEnvironment {
  @Transform(toDecimal)
  @IsNumber()
  @Min(0)
  @Max(1)
  ALERT_FAILURE_RATE = 0.05;

  @Transform(toInteger)
  @IsInt()
  @Min(1)
  ALERT_MIN_SENDS = 20;

  @Transform(toInteger)
  @IsInt()
  @Min(1)
  ALERT_RESPONSE_TIME_MS = 2_000;

  @Transform(toInteger)
  @IsInt()
  @Min(1)
  ALERT_RATE_LIMIT_VIOLATIONS_PER_HOUR = 100;

  /** Unset: a share of SMS_DAILY_BUDGET (ALERT_DAILY_COST_BUDGET_SHARE); 0: no cost alert. */
  @Transform(toOptionalDecimal)
  @IsOptional()
  @IsNumber()
  @Min(0)
  ALERT_DAILY_COST?: number;

  @Transform(toDecimal)
  @IsNumber()
  @Min(0)
  @Max(1)
  ALERT_DAILY_COST_BUDGET_SHARE = 0.8;

  @Transform(toInteger)
  @IsInt()
  @Min(1)
  ALERT_SECURITY_INCIDENTS_PER_HOUR = 50;

  @Transform(toInteger)
  @IsInt()
  @Min(1)
  ALERT_WEBHOOK_FAILURES_PER_HOUR = 10;

  @Transform(toInteger)
  @IsInt()
  @Min(1_000)
  @Max(86_400_000)
  ALERT_EVALUATION_INTERVAL_MS = 60_000;

  @Transform(toTrimmed)
  @IsOptional()
  @IsUrl({ require_tld: false, protocols: ['http', 'https'], require_protocol: true })
  ALERT_WEBHOOK_URL?: string;
}
