import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { PhoneModule } from '../../phone/phone.module';
import { RateLimitModule } from '../../rate-limit/rate-limit.module';
import { DailySpend } from './budget/daily-spend.entity';
import { DailySpendRepository } from './budget/daily-spend.repository';
import { SpendBudgetService } from './budget/spend-budget.service';
import { KnownRefusalResponder } from './known-refusal-responder';
import { HoldsController } from './pumping/holds.controller';
import { PumpingGuardService } from './pumping/pumping-guard.service';
import { PumpingMetrics } from './pumping/pumping-metrics';
import { SmsHold } from './pumping/sms-hold.entity';
import { SmsHoldRepository } from './pumping/sms-hold.repository';
import { RateLimitService } from './rate-limit.service';
import { SmsRateLimitGuard } from './sms-rate-limit.guard';
import { SmsRequests } from './sms-request';

/**
 * SMS abuse protection on the generic limiter (RateLimitModule): the product's limit policies,
 * the SMS routes' guard and its known refusals, pumping holds and the daily spend budget.
 */
@Module({
  imports: [TypeOrmModule.forFeature([SmsHold, DailySpend]), PhoneModule, RateLimitModule],
  controllers: [HoldsController],
  providers: [
    SmsRequests,
    RateLimitService,
    SmsRateLimitGuard,
    KnownRefusalResponder,
    PumpingGuardService,
    PumpingMetrics,
    SmsHoldRepository,
    SpendBudgetService,
    DailySpendRepository,
  ],
  exports: [
    SmsRequests,
    RateLimitService,
    SmsRateLimitGuard,
    PumpingGuardService,
    SmsHoldRepository,
    SpendBudgetService,
    PhoneModule,
    RateLimitModule,
  ],
})
export class SmsAbuseModule {}
