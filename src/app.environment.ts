import { Transform } from 'class-transformer';
import { IsBoolean, IsIn, IsInt, IsOptional, IsString, IsUrl, Max, Min } from 'class-validator';
import { toBoolean, toInteger, toLowerTrimmed, toTrimmed } from './common/environment-transforms';

export const NODE_ENVIRONMENTS = ['development', 'test', 'production'] as const;
export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

/** The service's own variables (app.config.ts): how it listens, runs and stops. */
export class AppEnvironment {
  // --- service ------------------------------------------------------------------------------
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
}
