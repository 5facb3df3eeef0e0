import { Provider } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { Configuration } from '../../config/configuration';
import { AlertEvaluator } from './alert-evaluator.service';
import { AlertNotifier, WebhookAlertNotifier } from './alert-notifier';
import { SmsAlertRepository } from './sms-alert.repository';

/** What the alerts add to AnalyticsModule. */
export const ALERT_PROVIDERS: Provider[] = [
  SmsAlertRepository,
  AlertEvaluator,
  {
    provide: AlertNotifier,
    inject: [ConfigService],
    useFactory: (config: ConfigService<Configuration, true>) =>
      new WebhookAlertNotifier(config.get('alerts', { infer: true }).webhookUrl),
  },
];
