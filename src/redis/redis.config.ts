import { Environment } from '../config/environment';

export interface RedisConfig {
  /** Undefined: stores that would use Redis use their in-memory implementation. */
  url?: string;
  /** Prefix of every key, so several deployments (or test files) can share one Redis. */
  keyPrefix: string;
}

export function redisConfigFromEnvironment(environment: Environment): RedisConfig {
  return { url: environment.REDIS_URL, keyPrefix: environment.REDIS_KEY_PREFIX };
}
