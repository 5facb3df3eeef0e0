import { Transform } from 'class-transformer';
import { IsInt, IsOptional, IsString, Max, Min, MinLength } from 'class-validator';
import { toInteger, toOptionalInteger, toTrimmed } from '../common/environment-transforms';

/** Tokens and password attempts (auth.config.ts). */
export class AuthEnvironment {
  @Transform(toTrimmed)
  @IsOptional()
  @IsString()
  @MinLength(32)
  JWT_SECRET?: string;

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
  @Transform(toOptionalInteger)
  @IsOptional()
  @IsInt()
  @Min(1)
  AUTH_PASSWORD_ATTEMPTS_CEILING?: number;

  @Transform(toInteger)
  @IsInt()
  @Min(1)
  AUTH_PASSWORD_IP_ATTEMPTS_LIMIT = 100;
}
