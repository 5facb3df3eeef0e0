import { Transform } from 'class-transformer';
import { IsIn, IsInt, IsOptional, Min } from 'class-validator';
import { toInteger, toLowerTrimmed } from '../common/environment-transforms';

export const RATE_LIMIT_STORES = ['redis', 'postgres', 'memory'] as const;

/** The generic limiter's store and the per-IP HTTP throttle (rate-limit.config.ts). */
export class RateLimitEnvironment {
  @Transform(toLowerTrimmed)
  @IsOptional()
  @IsIn(RATE_LIMIT_STORES)
  RATE_LIMIT_STORE?: (typeof RATE_LIMIT_STORES)[number];

  @Transform(toInteger)
  @IsInt()
  @Min(1)
  HTTP_THROTTLE_LIMIT = 300;

  @Transform(toInteger)
  @IsInt()
  @Min(1000)
  HTTP_THROTTLE_WINDOW = 60_000;
}
