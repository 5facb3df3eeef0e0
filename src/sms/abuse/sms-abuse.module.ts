import { Module, OnModuleInit } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { PhoneModule } from '../../phone/phone.module';
import { RateLimitModule } from '../../rate-limit/rate-limit.module';
import { RetentionPurges, RetentionPurgesModule } from '../../retention/retention-purges';
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
import { SmsSuppression } from './suppression/sms-suppression.entity';
import { SmsSuppressionRepository } from './suppression/sms-suppression.repository';
import { SuppressionService } from './suppression/suppression.service';

/**
 * SMS abuse protection on the generic limiter (RateLimitModule): the product's limit policies,
 * the SMS routes' guard and its known refusals, pumping holds, the daily spend budget and the
 * suppression of dead numbers.
 */
@Module({
  imports: [
    TypeOrmModule.forFeature([SmsHold, DailySpend, SmsSuppression]),
    PhoneModule,
    RateLimitModule,
    RetentionPurgesModule,
  ],
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
    SuppressionService,
    SmsSuppressionRepository,
  ],
  exports: [
    SmsRequests,
    RateLimitService,
    SmsRateLimitGuard,
    PumpingGuardService,
    SmsHoldRepository,
    SpendBudgetService,
    SuppressionService,
    PhoneModule,
    RateLimitModule,
  ],
})
export class SmsAbuseModule implements OnModuleInit {
  constructor(
    private readonly purges: RetentionPurges,
    private readonly holds: SmsHoldRepository,
    private readonly suppressions: SmsSuppressionRepository,
  ) {}

  onModuleInit(): void {
    this.purges.register(...this.holds.retentionPurges(), ...this.suppressions.retentionPurges());
  }
}
