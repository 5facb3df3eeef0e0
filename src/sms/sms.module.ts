import { Module } from '@nestjs/common';
import { PhoneModule } from '../phone/phone.module';
import { RateLimitModule } from '../rate-limit/rate-limit.module';
import { CarrierLookupService } from './carrier-lookup.service';
import { DeliveryFilters } from './delivery-filters';
import { NumberHistory } from './number-history';
import { ExpirySweeper } from './expiry-sweeper';
import { SmsNotifier } from './notifications/sms-notifier';
import { SmsProviders } from './providers/sms-providers';
import { SmsController } from './sms.controller';
import { SmsTextsModule } from './texts/sms-texts.module';
import { VerificationService } from './verification.service';

@Module({
  imports: [PhoneModule, RateLimitModule, SmsTextsModule],
  controllers: [SmsController],
  providers: [
    SmsProviders,
    VerificationService,
    DeliveryFilters,
    NumberHistory,
    CarrierLookupService,
    SmsNotifier,
    ExpirySweeper,
  ],
  exports: [VerificationService, DeliveryFilters, NumberHistory, SmsProviders, SmsNotifier],
})
export class SmsModule {}
