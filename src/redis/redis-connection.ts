import { Injectable, Logger, OnApplicationShutdown, OnModuleInit } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import Redis from 'ioredis';
import { Configuration } from '../config/configuration';

/**
 * The shared Redis client, or none when REDIS_URL is unset (stores then use their in-memory
 * implementation). Commands fail fast while Redis is down (no offline queue) so callers can fail
 * closed instead of waiting; the client reconnects by itself.
 */
@Injectable()
export class RedisConnection implements OnModuleInit, OnApplicationShutdown {
  private readonly logger = new Logger('Redis');
  readonly client: Redis | null;
  readonly keyPrefix: string;
  private reportedDown = false;

  constructor(config: ConfigService<Configuration, true>) {
    const redis = config.get('redis', { infer: true });
    this.keyPrefix = redis.keyPrefix;
    this.client = redis.url
      ? new Redis(redis.url, {
          lazyConnect: true,
          enableOfflineQueue: false,
          maxRetriesPerRequest: 1,
          connectTimeout: 2_000,
          commandTimeout: 1_000,
          retryStrategy: (attempt) => Math.min(attempt * 200, 2_000),
        })
      : null;
    this.client?.on('error', (error: NodeJS.ErrnoException) => {
      if (this.reportedDown) return;
      this.reportedDown = true;
      this.logger.warn(
        { errorCode: error.code },
        'Redis is unreachable; retrying in the background',
      );
    });
    this.client?.on('ready', () => {
      if (this.reportedDown) this.logger.log('Redis connection restored');
      this.reportedDown = false;
    });
  }

  async onModuleInit(): Promise<void> {
    if (!this.client) {
      this.logger.warn(
        'REDIS_URL is not set: rate limits and caches use in-memory stores (one instance only)',
      );
      return;
    }
    // A Redis that is down at boot is not fatal: requests that need it fail closed until it returns.
    await this.client.connect().catch(() => undefined);
  }

  get isReady(): boolean {
    return this.client?.status === 'ready';
  }

  async onApplicationShutdown(): Promise<void> {
    if (!this.client) return;
    await this.client.quit().catch(() => this.client?.disconnect());
  }
}
