import { Module } from '@nestjs/common';
import { APP_GUARD } from '@nestjs/core';
import { ConfigService } from '@nestjs/config';
import { ThrottlerModule } from '@nestjs/throttler';
import { DataSource } from 'typeorm';
import { Clock } from '../common/clock';
import { Configuration } from '../config/configuration';
import { PhoneModule } from '../phone/phone.module';
import { RedisConnection } from '../redis/redis-connection';
import { SpendBudgetService } from './budget/spend-budget.service';
import { HttpThrottlerGuard, RateLimitThrottlerStorage } from './http-throttler';
import { KnownRefusalResponder } from './known-refusal-responder';
import { HoldsController } from './pumping/holds.controller';
import { PumpingGuardService } from './pumping/pumping-guard.service';
import { SmsHoldRepository } from './pumping/sms-hold.repository';
import { RateLimitService } from './rate-limit.service';
import { SmsRateLimitGuard } from './sms-rate-limit.guard';
import { MemoryRateLimitStore } from './store/memory-rate-limit.store';
import { PostgresRateLimitStore } from './store/postgres-rate-limit.store';
import { RateLimitStore } from './store/rate-limit-store';
import { RedisRateLimitStore } from './store/redis-rate-limit.store';

const storeProvider = {
  provide: RateLimitStore,
  inject: [ConfigService, RedisConnection, DataSource],
  useFactory: (
    config: ConfigService<Configuration, true>,
    redis: RedisConnection,
    dataSource: DataSource,
  ): RateLimitStore => {
    switch (config.get('rateLimit', { infer: true }).store) {
      case 'redis':
        return new RedisRateLimitStore(redis.client!, redis.keyPrefix);
      case 'postgres':
        return new PostgresRateLimitStore(dataSource);
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
    PhoneModule,
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
  controllers: [HoldsController],
  providers: [
    RateLimitService,
    SmsRateLimitGuard,
    KnownRefusalResponder,
    PumpingGuardService,
    SmsHoldRepository,
    SpendBudgetService,
    { provide: APP_GUARD, useClass: HttpThrottlerGuard },
  ],
  exports: [
    RateLimitService,
    SmsRateLimitGuard,
    PumpingGuardService,
    SmsHoldRepository,
    SpendBudgetService,
    PhoneModule,
    RateLimitStoreModule,
  ],
})
export class RateLimitModule {}
