import { Transform } from 'class-transformer';
import {
  IsBoolean,
  IsIn,
  IsInt,
  IsNumber,
  IsOptional,
  IsString,
  IsUrl,
  Matches,
  Max,
  MaxLength,
  Min,
  MinLength,
} from 'class-validator';

/**
 * Every environment variable the service reads, with its default. `.env.example` documents the
 * same list; `environment.spec.ts` fails when the two drift apart.
 */

const toInteger = ({ value }: { value: unknown }): unknown =>
  typeof value === 'string' && value.trim() !== '' && /^-?\d+$/.test(value.trim())
    ? Number(value.trim())
    : value;

const toBoolean = ({ value }: { value: unknown }): unknown => {
  if (typeof value !== 'string') return value;
  const normalized = value.trim().toLowerCase();
  if (['true', '1', 'yes', 'on'].includes(normalized)) return true;
  if (['false', '0', 'no', 'off'].includes(normalized)) return false;
  return value;
};

const toDecimal = ({ value }: { value: unknown }): unknown =>
  typeof value === 'string' && /^\s*\d+(\.\d+)?\s*$/.test(value) ? Number(value) : value;

const toTrimmed = ({ value }: { value: unknown }): unknown =>
  typeof value === 'string' ? (value.trim() === '' ? undefined : value.trim()) : value;

export const NODE_ENVIRONMENTS = ['development', 'test', 'production'] as const;
export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export const SMS_PROVIDERS = ['auto', 'twilio-verify', 'twilio-messaging', 'console'] as const;
export const RATE_LIMIT_STORES = ['redis', 'postgres', 'memory'] as const;
export const PUMPING_MODES = ['enforce', 'shadow', 'off'] as const;

const COUNTRY_LIST = /^[A-Za-z]{2}(\s*,\s*[A-Za-z]{2})*$/;
const DATABASE_URL = /^postgres(ql)?:\/\/.+/;
const REDIS_URL = /^rediss?:\/\/.+/;
/** The shape only; redis.config.ts checks each entry's host and port. */
const HOST_PORT_LIST = /^[^\s,]+:\d+(\s*,\s*[^\s,]+:\d+)*$/;

const toLowerTrimmed = ({ value }: { value: unknown }): unknown =>
  typeof value === 'string' ? value.trim().toLowerCase() : value;

export class Environment {
  // --- service -----------------------------------------------------------------------------
  @Transform(toLowerTrimmed)
  @IsIn(NODE_ENVIRONMENTS)
  NODE_ENV: (typeof NODE_ENVIRONMENTS)[number] = 'development';

  @Transform(toInteger)
  @IsInt()
  @Min(0)
  @Max(65535)
  PORT = 3000;

  @Transform(toTrimmed)
  @IsString()
  HOST = '0.0.0.0';

  @Transform(toLowerTrimmed)
  @IsIn(LOG_LEVELS)
  LOG_LEVEL: (typeof LOG_LEVELS)[number] = 'info';

  @Transform(toTrimmed)
  @IsOptional()
  @IsString()
  CORS_ORIGINS?: string;

  @Transform(toTrimmed)
  @IsString()
  TRUST_PROXY = 'false';

  @Transform(toInteger)
  @IsInt()
  @Min(32)
  @Max(128)
  CLIENT_IPV6_PREFIX = 64;

  @Transform(toInteger)
  @IsInt()
  @Min(1024)
  @Max(10 * 1024 * 1024)
  BODY_LIMIT_BYTES = 16 * 1024;

  @Transform(toTrimmed)
  @IsOptional()
  @IsUrl({ require_tld: false, protocols: ['http', 'https'], require_protocol: true })
  PUBLIC_BASE_URL?: string;

  @Transform(toBoolean)
  @IsBoolean()
  SWAGGER_ENABLED = true;

  @Transform(toInteger)
  @IsInt()
  @Min(0)
  SHUTDOWN_TIMEOUT_MS = 10_000;

  @Transform(toInteger)
  @IsInt()
  @Min(1_000)
  @Max(3_600_000)
  BACKGROUND_RETRY_MAX_MS = 60_000;

  // --- HTTP connections (slow clients, connection floods) -----------------------------------
  @Transform(toInteger)
  @IsInt()
  @Min(100)
  @Max(60_000)
  HTTP_HEADERS_TIMEOUT_MS = 5_000;

  @Transform(toInteger)
  @IsInt()
  @Min(100)
  @Max(300_000)
  HTTP_REQUEST_TIMEOUT_MS = 10_000;

  @Transform(toInteger)
  @IsInt()
  @Min(100)
  @Max(600_000)
  HTTP_KEEP_ALIVE_TIMEOUT_MS = 5_000;

  @Transform(toInteger)
  @IsInt()
  @Min(1_000)
  @Max(3_600_000)
  HTTP_SOCKET_TIMEOUT_MS = 60_000;

  @Transform(toInteger)
  @IsInt()
  @Min(0)
  @Max(10_000_000)
  HTTP_MAX_CONNECTIONS = 0;

  @Transform(toInteger)
  @IsInt()
  @Min(1)
  @Max(10_000_000)
  HTTP_MAX_CONNECTIONS_PER_CLIENT = 128;

  // --- secrets -----------------------------------------------------------------------------
  @Transform(toTrimmed)
  @IsOptional()
  @IsString()
  @MinLength(32)
  HASH_SECRET?: string;

  @Transform(toTrimmed)
  @IsOptional()
  @IsString()
  @MinLength(32)
  ADMIN_API_KEY?: string;

  @Transform(toTrimmed)
  @IsOptional()
  @IsString()
  @MinLength(32)
  JWT_SECRET?: string;

  // --- auth --------------------------------------------------------------------------------
  @Transform(toInteger)
  @IsInt()
  @Min(60)
  @Max(86_400)
  JWT_ACCESS_TTL_SECONDS = 900;

  @Transform(toInteger)
  @IsInt()
  @Min(3_600)
  @Max(31_536_000)
  JWT_REFRESH_TTL_SECONDS = 2_592_000;

  @Transform(toInteger)
  @IsInt()
  @Min(60)
  @Max(3_600)
  JWT_TWO_FACTOR_TTL_SECONDS = 300;

  @Transform(toInteger)
  @IsInt()
  @Min(1)
  AUTH_PASSWORD_ATTEMPTS_LIMIT = 10;

  @Transform(toInteger)
  @IsInt()
  @Min(1000)
  AUTH_PASSWORD_ATTEMPTS_WINDOW = 3_600_000;

  /** Unset: 10 × AUTH_PASSWORD_ATTEMPTS_LIMIT. */
  @Transform(({ value }) => toInteger({ value: toTrimmed({ value }) }))
  @IsOptional()
  @IsInt()
  @Min(1)
  AUTH_PASSWORD_ATTEMPTS_CEILING?: number;

  @Transform(toInteger)
  @IsInt()
  @Min(1)
  AUTH_PASSWORD_IP_ATTEMPTS_LIMIT = 100;

  // --- database ----------------------------------------------------------------------------
  @Transform(toTrimmed)
  @IsOptional()
  @Matches(DATABASE_URL, { message: 'DATABASE_URL must be a postgres:// or postgresql:// URL' })
  DATABASE_URL?: string;

  @Transform(toInteger)
  @IsInt()
  @Min(1)
  @Max(200)
  DATABASE_POOL_SIZE = 10;

  @Transform(toInteger)
  @IsInt()
  @Min(100)
  DATABASE_STATEMENT_TIMEOUT_MS = 5_000;

  @Transform(toBoolean)
  @IsBoolean()
  DATABASE_MIGRATIONS_RUN = true;

  @Transform(toTrimmed)
  @IsString()
  DATA_DIR = './data';

  // --- redis -------------------------------------------------------------------------------
  @Transform(toTrimmed)
  @IsOptional()
  @Matches(REDIS_URL, { message: 'REDIS_URL must be a redis:// or rediss:// URL' })
  REDIS_URL?: string;

  @Transform(toTrimmed)
  @IsOptional()
  @Matches(HOST_PORT_LIST, {
    message:
      'REDIS_CLUSTER_NODES must be comma-separated host:port entries, e.g. 10.0.0.1:6379,10.0.0.2:6379',
  })
  REDIS_CLUSTER_NODES?: string;

  @Transform(toTrimmed)
  @IsString()
  @MaxLength(64)
  REDIS_KEY_PREFIX = 'sms:';

  // --- twilio ------------------------------------------------------------------------------
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

  // --- sms ---------------------------------------------------------------------------------
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

  @Transform(toBoolean)
  @IsBoolean()
  SMS_ALLOW_VOIP = false;

  @Transform(toTrimmed)
  @Matches(/^(en|am|fr)$/, { message: 'DEFAULT_LOCALE must be one of en, am, fr' })
  DEFAULT_LOCALE = 'en';

  @Transform(toTrimmed)
  @Matches(/^([A-Za-z]{2}:(en|am|fr))(\s*,\s*[A-Za-z]{2}:(en|am|fr))*$/, {
    message: 'SMS_COUNTRY_LOCALES must be a list like ET:am,CA:en with locales en, am or fr',
  })
  SMS_COUNTRY_LOCALES = 'ET:am';

  // --- rate limits (docs/PRODUCT.md) ------------------------------------------------------
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

  // --- rate limits: more layers (issue 4) ---------------------------------------------------
  @Transform(toLowerTrimmed)
  @IsOptional()
  @IsIn(RATE_LIMIT_STORES)
  RATE_LIMIT_STORE?: (typeof RATE_LIMIT_STORES)[number];

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
  @Transform(({ value }) => toInteger({ value: toTrimmed({ value }) }))
  @IsOptional()
  @IsInt()
  @Min(1)
  SMS_VERIFY_PHONE_CEILING?: number;

  @Transform(toInteger)
  @IsInt()
  @Min(1)
  SMS_VERIFY_IP_LIMIT = 60;

  @Transform(toInteger)
  @IsInt()
  @Min(1)
  HTTP_THROTTLE_LIMIT = 300;

  @Transform(toInteger)
  @IsInt()
  @Min(1000)
  HTTP_THROTTLE_WINDOW = 60_000;

  // --- pumping protection and budget (issue 4) ---------------------------------------------
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

  // --- analytics (docs/PRODUCT.md) --------------------------------------------------------
  @Transform(toBoolean)
  @IsBoolean()
  ENABLE_SMS_ANALYTICS = true;

  @Transform(toTrimmed)
  @IsOptional()
  @Matches(DATABASE_URL, { message: 'ANALYTICS_DB_URL must be a postgres:// or postgresql:// URL' })
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

  @Transform(toInteger)
  @IsInt()
  @Min(1)
  SMS_SUPPRESSION_HOURS = 168;

  @Transform(toTrimmed)
  @Matches(/^\d{5}(\s*,\s*\d{5})*$/, {
    message: 'SMS_SUPPRESSION_ERROR_CODES must be Twilio error codes like 30003,30005,30006',
  })
  SMS_SUPPRESSION_ERROR_CODES = '30003,30005,30006';

  // --- internationalization (docs/PRODUCT.md) ---------------------------------------------
  @Transform(toTrimmed)
  @Matches(/^[A-Za-z]{2}$/, { message: 'DEFAULT_COUNTRY_CODE must be an ISO 3166-1 alpha-2 code' })
  DEFAULT_COUNTRY_CODE = 'ET';

  @Transform(toTrimmed)
  @Matches(COUNTRY_LIST, {
    message: 'SUPPORTED_COUNTRIES must be comma-separated ISO 3166-1 alpha-2 codes, e.g. ET,US',
  })
  SUPPORTED_COUNTRIES = 'ET,US,GB,CA,AU';

  // --- metrics and alerts (docs/PRODUCT.md#alerts) ----------------------------------------
  @Transform(toBoolean)
  @IsBoolean()
  METRICS_ENABLED = true;

  @Transform(({ value }) => toInteger({ value: toTrimmed({ value }) }))
  @IsOptional()
  @IsInt()
  @Min(0)
  @Max(65535)
  METRICS_PORT?: number;

  @Transform(toTrimmed)
  @IsString()
  METRICS_HOST = '127.0.0.1';

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
  @Transform(({ value }) => toDecimal({ value: toTrimmed({ value }) }))
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

  // --- data retention ----------------------------------------------------------------------
  @Transform(toInteger)
  @IsInt()
  @Min(1)
  @Max(3_650)
  SMS_VERIFICATION_RETENTION_DAYS = 30;

  @Transform(toInteger)
  @IsInt()
  @Min(1)
  @Max(3_650)
  ANALYTICS_RETENTION_DAYS = 395;

  @Transform(toInteger)
  @IsInt()
  @Min(1_000)
  @Max(86_400_000)
  RETENTION_INTERVAL_MS = 3_600_000;

  @Transform(toInteger)
  @IsInt()
  @Min(1)
  @Max(100_000)
  RETENTION_BATCH_SIZE = 5_000;
}
