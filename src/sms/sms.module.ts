import { Module, OnModuleInit } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { PhoneModule } from '../phone/phone.module';
import { RetentionPurges, RetentionPurgesModule } from '../retention/retention-purges';
import { SmsAbuseModule } from './abuse/sms-abuse.module';
import { SuppressionService } from './abuse/suppression/suppression.service';
import { CarrierLookupService } from './carrier-lookup.service';
import { DeliveryFilters } from './delivery-filters';
import { NumberHistory } from './number-history';
import { ExpirySweeper } from './expiry-sweeper';
import { SmsNotifier } from './notifications/sms-notifier';
import { SmsProviders } from './providers/sms-providers';
import { SmsController } from './sms.controller';
import { SmsMetrics } from './sms-metrics';
import { SmsTextsModule } from './texts/sms-texts.module';
import { CodeChecker } from './code-checker';
import { CodeDelivery } from './code-delivery';
import { ProviderTiming } from './provider-timing';
import { VerificationResources } from './verification-resources';
import { VerificationSender } from './verification-sender';
import { Verification } from './verification.entity';
import { VerificationRepository } from './verification.repository';

@Module({
  imports: [
    TypeOrmModule.forFeature([Verification]),
    PhoneModule,
    SmsAbuseModule,
    SmsTextsModule,
    RetentionPurgesModule,
  ],
  controllers: [SmsController],
  providers: [
    SmsProviders,
    VerificationRepository,
    VerificationResources,
    ProviderTiming,
    CodeDelivery,
    VerificationSender,
    CodeChecker,
    DeliveryFilters,
    NumberHistory,
    CarrierLookupService,
    SmsNotifier,
    ExpirySweeper,
    SmsMetrics,
  ],
  exports: [CodeChecker, DeliveryFilters, NumberHistory, SmsProviders, SmsNotifier],
})
export class SmsModule implements OnModuleInit {
  constructor(
    private readonly filters: DeliveryFilters,
    private readonly suppression: SuppressionService,
    private readonly purges: RetentionPurges,
    private readonly verifications: VerificationRepository,
  ) {}

  onModuleInit(): void {
    // A number that bounced permanently gets nothing while it is suppressed. Nest initializes a
    // module before the modules that import it, so this filter comes before auth's `account` one
    // (a refused send is reported under the first filter that refuses it).
    this.filters.register('bounced', (target) => this.suppression.isDeliverable(target.phoneHash));
    this.purges.register(...this.verifications.retentionPurges());
  }
}
