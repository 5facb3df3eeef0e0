import type { RedisEnvironment } from '../redis/redis.environment';
import { RateLimitEnvironment } from './rate-limit.environment';

export type RateLimitStoreKind = 'redis' | 'postgres' | 'memory';

/**
 * The generic limiter: where every count lives and the per-IP HTTP throttle of every route. The
 * SMS routes' own layers are sms/abuse/abuse.config.ts.
 */
export interface RateLimitConfig {
  store: RateLimitStoreKind;
  httpLimit: number;
  httpWindowMs: number;
}

export function rateLimitConfigFromEnvironment(
  environment: RateLimitEnvironment & Pick<RedisEnvironment, 'REDIS_URL' | 'REDIS_CLUSTER_NODES'>,
  problems: string[],
): RateLimitConfig {
  const redisConfigured = Boolean(environment.REDIS_URL || environment.REDIS_CLUSTER_NODES);
  const store: RateLimitStoreKind =
    environment.RATE_LIMIT_STORE ?? (redisConfigured ? 'redis' : 'memory');
  if (store === 'redis' && !redisConfigured) {
    problems.push('RATE_LIMIT_STORE=redis needs REDIS_URL or REDIS_CLUSTER_NODES');
  }
  return {
    store,
    httpLimit: environment.HTTP_THROTTLE_LIMIT,
    httpWindowMs: environment.HTTP_THROTTLE_WINDOW,
  };
}
