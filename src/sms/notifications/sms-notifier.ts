import { Injectable, Logger } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { Configuration } from '../../config/configuration';
import { PhoneService } from '../../phone/phone.service';
import { SmsProvider } from '../providers/sms-provider';
import { SmsProviders } from '../providers/sms-providers';
import { SmsConfig } from '../sms.config';
import { resolveLocale } from '../texts/locale-resolver';
import { SmsNoticeKey, SmsTextService } from '../texts/sms-text.service';

/** A notice an hour late is still worth reading; Twilio keeps a message queued at most 10 h. */
const NOTICE_VALIDITY_SECONDS = 36_000;

/**
 * Texts that carry no code, such as "your phone number was changed" to the old number
 * (docs/SECURITY.md rules 11 and 13). They need our own text, so they go through Twilio Messaging,
 * or the console provider in development; with Twilio Verify alone they cannot be sent.
 * A notice never fails the request that caused it, and the number is never logged.
 */
@Injectable()
export class SmsNotifier {
  private readonly logger = new Logger('SmsNotifier');
  private readonly sms: SmsConfig;
  private readonly provider?: SmsProvider;

  constructor(
    providers: SmsProviders,
    private readonly texts: SmsTextService,
    private readonly phones: PhoneService,
    config: ConfigService<Configuration, true>,
  ) {
    this.sms = config.get('sms', { infer: true });
    this.provider = providers.byName('twilio-messaging') ?? providers.byName('console');
    if (!this.provider) {
      this.logger.warn(
        'Account notices (phone changed, password reset) are not sent: they need ' +
          'TWILIO_MESSAGING_SERVICE_SID or TWILIO_FROM besides Twilio Verify',
      );
    }
  }

  /** Sends the notice in the number's usual language; resolves even when sending failed. */
  async notify(e164: string, notice: SmsNoticeKey): Promise<void> {
    if (!this.provider || this.sms.testNumbers.has(e164)) return;
    try {
      const country = this.phones.normalize(e164).country;
      const locale = resolveLocale({ country }, this.sms);
      const text = this.texts.render(notice, locale);
      const receipt = await this.provider.send({
        to: e164,
        purpose: 'notice',
        locale: text.locale,
        validitySeconds: NOTICE_VALIDITY_SECONDS,
        text,
      });
      this.logger.log({ notice, sid: receipt.sid }, 'account notice sent');
    } catch (error) {
      const code = (error as { code?: unknown }).code;
      this.logger.warn(
        { notice, errorName: error instanceof Error ? error.name : typeof error, errorCode: code },
        'account notice not sent',
      );
    }
  }
}
