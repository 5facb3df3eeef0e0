import { Module, OnModuleInit } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { ThrottlerModule } from '@nestjs/throttler';
import { TypeOrmModule } from '@nestjs/typeorm';
import { Sql } from '../database/sql';
import { Clock } from '../common/clock';
import { Configuration } from '../config/configuration';
import { RedisConnection } from '../redis/redis-connection';
import { RetentionPurges, RetentionPurgesModule } from '../retention/retention-purges';
import { RateLimitThrottlerStorage } from './http-throttler';
import { MemoryRateLimitStore } from './store/memory-rate-limit.store';
import { PostgresRateLimitStore } from './store/postgres-rate-limit.store';
import { rateLimitRetention } from './store/rate-limit-retention';
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
    RetentionPurgesModule,
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
export class RateLimitModule implements OnModuleInit {
  constructor(
    private readonly store: RateLimitStore,
    private readonly purges: RetentionPurges,
  ) {}

  onModuleInit(): void {
    this.purges.register(rateLimitRetention(this.store));
  }
}
