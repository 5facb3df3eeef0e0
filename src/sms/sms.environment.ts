import { Transform } from 'class-transformer';
import {
  IsBoolean,
  IsIn,
  IsInt,
  IsOptional,
  IsString,
  IsUrl,
  Matches,
  Max,
  Min,
  MinLength,
} from 'class-validator';
import { toBoolean, toInteger, toLowerTrimmed, toTrimmed } from '../common/environment-transforms';

export const SMS_PROVIDERS = ['auto', 'twilio-verify', 'twilio-messaging', 'console'] as const;

/** The Twilio account and how it is called (sms.config.ts, twilioConfigFromEnvironment). */
export class TwilioEnvironment {
  @Transform(toTrimmed)
  @IsOptional()
  @Matches(/^AC[0-9a-fA-F]{32}$/, { message: 'TWILIO_ACCOUNT_SID must look like AC + 32 hex' })
  TWILIO_ACCOUNT_SID?: string;

  @Transform(toTrimmed)
  @IsOptional()
  @IsString()
  @MinLength(16)
  TWILIO_AUTH_TOKEN?: string;

  @Transform(toTrimmed)
  @IsOptional()
  @Matches(/^VA[0-9a-fA-F]{32}$/, {
    message: 'TWILIO_VERIFY_SERVICE_SID must look like VA + 32 hex',
  })
  TWILIO_VERIFY_SERVICE_SID?: string;

  @Transform(toTrimmed)
  @IsOptional()
  @Matches(/^MG[0-9a-fA-F]{32}$/, {
    message: 'TWILIO_MESSAGING_SERVICE_SID must look like MG + 32 hex',
  })
  TWILIO_MESSAGING_SERVICE_SID?: string;

  @Transform(toTrimmed)
  @IsOptional()
  @Matches(/^(\+[1-9]\d{6,14}|[A-Za-z0-9 ]{1,11})$/, {
    message: 'TWILIO_FROM must be an E.164 number or an alphanumeric sender ID of 1-11 characters',
  })
  TWILIO_FROM?: string;

  @Transform(toTrimmed)
  @IsOptional()
  @IsUrl({ require_tld: false, protocols: ['http', 'https'], require_protocol: true })
  TWILIO_API_BASE_URL?: string;

  @Transform(toInteger)
  @IsInt()
  @Min(100)
  @Max(60_000)
  TWILIO_TIMEOUT_MS = 5_000;

  @Transform(toInteger)
  @IsInt()
  @Min(1)
  @Max(10_000)
  TWILIO_MAX_SOCKETS = 256;

  @Transform(toInteger)
  @IsInt()
  @Min(1)
  @Max(100)
  TWILIO_CIRCUIT_FAILURES = 5;

  @Transform(toInteger)
  @IsInt()
  @Min(100)
  @Max(600_000)
  TWILIO_CIRCUIT_HALF_OPEN_AFTER_MS = 30_000;
}

/** One-time codes: provider, length, attempts, expiry, test numbers, languages (sms.config.ts). */
export class SmsEnvironment {
  @Transform(toLowerTrimmed)
  @IsIn(SMS_PROVIDERS)
  SMS_PROVIDER: (typeof SMS_PROVIDERS)[number] = 'auto';

  @Transform(toInteger)
  @IsInt()
  @Min(4)
  @Max(10)
  SMS_CODE_LENGTH = 6;

  @Transform(toInteger)
  @IsInt()
  @Min(1)
  @Max(10)
  SMS_MAX_ATTEMPTS = 3;

  @Transform(toInteger)
  @IsInt()
  @Min(1)
  @Max(10)
  SMS_MAX_SENDS_PER_VERIFICATION = 5;

  @Transform(toInteger)
  @IsInt()
  @Min(1)
  @Max(60)
  SMS_EXPIRY_REGISTRATION_MINUTES = 10;

  @Transform(toInteger)
  @IsInt()
  @Min(1)
  @Max(60)
  SMS_EXPIRY_LOGIN_MINUTES = 5;

  @Transform(toInteger)
  @IsInt()
  @Min(1)
  @Max(60)
  SMS_EXPIRY_PASSWORD_RESET_MINUTES = 15;

  @Transform(toInteger)
  @IsInt()
  @Min(1)
  @Max(60)
  SMS_EXPIRY_TWO_FACTOR_MINUTES = 5;

  @Transform(toInteger)
  @IsInt()
  @Min(30)
  @Max(3600)
  SMS_VERIFICATION_TOKEN_TTL_SECONDS = 600;

  @Transform(toInteger)
  @IsInt()
  @Min(1_000)
  @Max(3_600_000)
  SMS_EXPIRY_SWEEP_INTERVAL_MS = 60_000;

  @Transform(toTrimmed)
  @IsOptional()
  @Matches(/^\+[1-9]\d{6,14}:\d{4,10}(\s*,\s*\+[1-9]\d{6,14}:\d{4,10})*$/, {
    message: 'SMS_TEST_NUMBERS must be a list like +251900000001:123456,+251900000002:654321',
  })
  SMS_TEST_NUMBERS?: string;

  @Transform(toBoolean)
  @IsBoolean()
  SMS_ALLOW_TEST_NUMBERS_IN_PRODUCTION = false;

  @Transform(toTrimmed)
  @Matches(/^(en|am|fr)$/, { message: 'DEFAULT_LOCALE must be one of en, am, fr' })
  DEFAULT_LOCALE = 'en';

  @Transform(toTrimmed)
  @Matches(/^([A-Za-z]{2}:(en|am|fr))(\s*,\s*[A-Za-z]{2}:(en|am|fr))*$/, {
    message: 'SMS_COUNTRY_LOCALES must be a list like ET:am,CA:en with locales en, am or fr',
  })
  SMS_COUNTRY_LOCALES = 'ET:am';
}
