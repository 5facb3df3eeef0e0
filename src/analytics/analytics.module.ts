import { Module, OnModuleInit } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { SmsAlert } from './alerts/sms-alert.entity';
import { SmsMessage } from './delivery/sms-message.entity';
import { SmsEventRollup, SmsResponseTimeRollup } from './events/sms-event-rollup.entity';
import { SmsEventRecord } from './events/sms-event.entity';
import { SmsRequestTiming } from './events/sms-request-timing.entity';
import { SmsAbuseModule } from '../sms/abuse/sms-abuse.module';
import { SmsModule } from '../sms/sms.module';
import { RetentionPurges, RetentionPurgesModule } from '../retention/retention-purges';
import { ALERT_PROVIDERS } from './alerts/alert-providers';
import { AlertsController } from './alerts/alerts.controller';
import { AnalyticsDatabase } from './analytics-database';
import { AnalyticsMetrics } from './analytics-metrics';
import { AnalyticsController } from './analytics.controller';
import { AnalyticsService } from './analytics.service';
import { DeliveryTrackingService } from './delivery/delivery-tracking.service';
import { SmsMessageRepository } from './delivery/sms-message.repository';
import { EventRecorder } from './events/event-recorder';
import { SmsEventRepository } from './events/sms-event.repository';
import { ReportsRepository } from './reports.repository';
import { RequestTimings } from './request-timings';
import { TwilioSignatureGuard } from './webhooks/twilio-webhook.guard';
import { TwilioStatusController } from './webhooks/twilio-status.controller';
import { WebhookStats } from './webhooks/webhook-stats';

@Module({
  imports: [
    TypeOrmModule.forFeature([
      SmsEventRecord,
      SmsEventRollup,
      SmsResponseTimeRollup,
      SmsRequestTiming,
      SmsMessage,
      SmsAlert,
    ]),
    SmsModule,
    SmsAbuseModule,
    RetentionPurgesModule,
  ],
  controllers: [AnalyticsController, TwilioStatusController, AlertsController],
  providers: [
    AnalyticsDatabase,
    AnalyticsService,
    ReportsRepository,
    EventRecorder,
    SmsEventRepository,
    DeliveryTrackingService,
    SmsMessageRepository,
    WebhookStats,
    TwilioSignatureGuard,
    RequestTimings,
    AnalyticsMetrics,
    ...ALERT_PROVIDERS,
  ],
  exports: [AnalyticsService, EventRecorder, WebhookStats],
})
export class AnalyticsModule implements OnModuleInit {
  constructor(
    private readonly purges: RetentionPurges,
    private readonly events: SmsEventRepository,
    private readonly messages: SmsMessageRepository,
  ) {}

  onModuleInit(): void {
    this.purges.register(...this.events.retentionPurges(), ...this.messages.retentionPurges());
  }
}
