import { Module } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { ThrottlerModule } from '@nestjs/throttler';
import { TypeOrmModule } from '@nestjs/typeorm';
import { Sql } from '../database/sql';
import { Clock } from '../common/clock';
import { Configuration } from '../config/configuration';
import { RedisConnection } from '../redis/redis-connection';
import { RateLimitThrottlerStorage } from './http-throttler';
import { MemoryRateLimitStore } from './store/memory-rate-limit.store';
import { PostgresRateLimitStore } from './store/postgres-rate-limit.store';
import { RateLimitRecord } from './store/rate-limit-record.entity';
import { RateLimitStore } from './store/rate-limit-store';
import { RedisRateLimitStore } from './store/redis-rate-limit.store';

const storeProvider = {
  provide: RateLimitStore,
  inject: [ConfigService, RedisConnection, Sql],
  useFactory: (
    config: ConfigService<Configuration, true>,
    redis: RedisConnection,
    sql: Sql,
  ): RateLimitStore => {
    switch (config.get('rateLimit', { infer: true }).store) {
      case 'redis':
        return new RedisRateLimitStore(redis.client!, redis.keyPrefix);
      case 'postgres':
        return new PostgresRateLimitStore(sql);
      case 'memory':
        return new MemoryRateLimitStore();
    }
  },
};

/** The store alone, so the throttler's async options can use it too. */
@Module({ providers: [storeProvider], exports: [RateLimitStore] })
class RateLimitStoreModule {}

@Module({
  imports: [
    TypeOrmModule.forFeature([RateLimitRecord]),
    RateLimitStoreModule,
    ThrottlerModule.forRootAsync({
      inject: [ConfigService, RateLimitStore, Clock],
      useFactory: (
        config: ConfigService<Configuration, true>,
        store: RateLimitStore,
        clock: Clock,
      ) => {
        const limits = config.get('rateLimit', { infer: true });
        return {
          throttlers: [{ name: 'default', limit: limits.httpLimit, ttl: limits.httpWindowMs }],
          storage: new RateLimitThrottlerStorage(store, clock),
          setHeaders: false,
        };
      },
      imports: [RateLimitStoreModule],
    }),
  ],
  exports: [RateLimitStoreModule],
})
export class RateLimitModule {}
