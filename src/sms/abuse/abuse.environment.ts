import { Transform } from 'class-transformer';
import { IsIn, IsInt, IsNumber, IsOptional, Matches, Max, Min } from 'class-validator';
import {
  toDecimal,
  toInteger,
  toLowerTrimmed,
  toOptionalInteger,
  toTrimmed,
} from '../../common/environment-transforms';

export const PUMPING_MODES = ['enforce', 'shadow', 'off'] as const;

/**
 * SMS abuse protection (abuse.config.ts): the SMS routes' limit layers (docs/PRODUCT.md), pumping
 * holds, the daily spend budget and the suppression of dead numbers.
 */
export class SmsAbuseEnvironment {
  // --- send and code-check limits -----------------------------------------------------------
  @Transform(toInteger)
  @IsInt()
  @Min(1000)
  SMS_RATE_LIMIT_WINDOW = 900_000;

  @Transform(toInteger)
  @IsInt()
  @Min(1)
  SMS_RATE_LIMIT_MAX_ATTEMPTS = 5;

  @Transform(toInteger)
  @IsInt()
  @Min(1)
  SMS_RATE_LIMIT_GLOBAL_MAX = 1000;

  @Transform(toTrimmed)
  @Matches(
    /^(registration|login|password_reset|two_factor):\d+(\s*,\s*(registration|login|password_reset|two_factor):\d+)*$/,
    {
      message:
        'SMS_PURPOSE_LIMITS must be a list like registration:3,login:5,password_reset:3,two_factor:5',
    },
  )
  SMS_PURPOSE_LIMITS = 'registration:3,login:5,password_reset:3,two_factor:5';

  @Transform(toInteger)
  @IsInt()
  @Min(1)
  SMS_IP_LIMIT = 20;

  @Transform(toInteger)
  @IsInt()
  @Min(1)
  SMS_IP_DISTINCT_PHONES = 5;

  @Transform(toInteger)
  @IsInt()
  @Min(1000)
  SMS_IP_DISTINCT_PHONES_WINDOW = 3_600_000;

  @Transform(toTrimmed)
  @IsOptional()
  @Matches(/^[A-Za-z]{2}:\d+(\s*,\s*[A-Za-z]{2}:\d+)*$/, {
    message: 'SMS_COUNTRY_LIMITS must be a list like ET:500,US:200',
  })
  SMS_COUNTRY_LIMITS = 'ET:500,US:200';

  @Transform(toInteger)
  @IsInt()
  @Min(1)
  SMS_COUNTRY_LIMIT_DEFAULT = 100;

  @Transform(toInteger)
  @IsInt()
  @Min(1)
  SMS_PREFIX_LIMIT = 20;

  @Transform(toInteger)
  @IsInt()
  @Min(1000)
  SMS_PREFIX_WINDOW = 3_600_000;

  @Transform(toTrimmed)
  @Matches(/^\d+(\s*,\s*\d+)*$/, {
    message: 'SMS_RESEND_COOLDOWNS must be seconds like 30,60,300 (0 turns the cooldown off)',
  })
  SMS_RESEND_COOLDOWNS = '30,60,300';

  @Transform(toInteger)
  @IsInt()
  @Min(1)
  SMS_VERIFY_PHONE_LIMIT = 10;

  @Transform(toInteger)
  @IsInt()
  @Min(1000)
  SMS_VERIFY_PHONE_WINDOW = 3_600_000;

  /** Unset: 10 × SMS_VERIFY_PHONE_LIMIT. */
  @Transform(toOptionalInteger)
  @IsOptional()
  @IsInt()
  @Min(1)
  SMS_VERIFY_PHONE_CEILING?: number;

  @Transform(toInteger)
  @IsInt()
  @Min(1)
  SMS_VERIFY_IP_LIMIT = 60;

  // --- pumping protection -------------------------------------------------------------------
  @Transform(toLowerTrimmed)
  @IsIn(PUMPING_MODES)
  SMS_PUMPING_MODE: (typeof PUMPING_MODES)[number] = 'enforce';

  @Transform(toDecimal)
  @IsNumber()
  @Min(0)
  @Max(1)
  SMS_PUMPING_MIN_CONVERSION = 0.2;

  @Transform(toInteger)
  @IsInt()
  @Min(1)
  SMS_PUMPING_MIN_SENDS = 50;

  @Transform(toInteger)
  @IsInt()
  @Min(60_000)
  SMS_PUMPING_WINDOW = 3_600_000;

  @Transform(toInteger)
  @IsInt()
  @Min(60_000)
  SMS_PUMPING_HOLD_DURATION = 21_600_000;

  @Transform(toInteger)
  @IsInt()
  @Min(2)
  SMS_PUMPING_COUNTRY_MIN_RANGES = 20;

  @Transform(toInteger)
  @IsInt()
  @Min(2)
  SMS_PUMPING_COUNTRY_MIN_NETWORKS = 20;

  @Transform(toInteger)
  @IsInt()
  @Min(0)
  @Max(3_650)
  SMS_PUMPING_HISTORY_DAYS = 30;

  // --- spend budget -------------------------------------------------------------------------
  @Transform(toDecimal)
  @IsNumber()
  @Min(0)
  SMS_DAILY_BUDGET = 0;

  @Transform(toTrimmed)
  @Matches(/^[A-Z]{3}$/, { message: 'SMS_BUDGET_CURRENCY must be an ISO 4217 code like USD' })
  SMS_BUDGET_CURRENCY = 'USD';

  @Transform(toTrimmed)
  @Matches(/^[A-Za-z]{2}:\d+(\.\d+)?(\s*,\s*[A-Za-z]{2}:\d+(\.\d+)?)*$/, {
    message: 'SMS_PRICES must be a list like ET:0.05,US:0.0079 (price of one segment)',
  })
  SMS_PRICES = 'ET:0.05,US:0.0083,CA:0.0083,GB:0.0463,AU:0.0515';

  @Transform(toDecimal)
  @IsNumber()
  @Min(0)
  SMS_PRICE_DEFAULT = 0.05;

  // --- dead numbers ---------------------------------------------------------------------------
  @Transform(toInteger)
  @IsInt()
  @Min(1)
  SMS_SUPPRESSION_HOURS = 168;

  @Transform(toTrimmed)
  @Matches(/^\d{5}(\s*,\s*\d{5})*$/, {
    message: 'SMS_SUPPRESSION_ERROR_CODES must be Twilio error codes like 30003,30005,30006',
  })
  SMS_SUPPRESSION_ERROR_CODES = '30003,30005,30006';
}
