import { Logger } from '@nestjs/common';
import { RandomSource } from '../../../common/random';
import { SendCodeReceipt, SendCodeRequest, SmsProvider } from '../sms-provider';

/**
 * Development only (refused in production by the configuration check): writes the text, code
 * included, to the log instead of sending it, so the flows can be tried without Twilio.
 */
export class ConsoleProvider extends SmsProvider {
  readonly name = 'console' as const;
  readonly ownsCodes = false;
  private readonly logger = new Logger('ConsoleSms');

  constructor(private readonly random: RandomSource) {
    super();
  }

  supportsLocale(): boolean {
    return true;
  }

  async send(request: SendCodeRequest): Promise<SendCodeReceipt> {
    const sid = `SM${this.random.hex(16)}`;
    this.logger.warn(
      { sid, purpose: request.purpose, locale: request.locale },
      `[development SMS, not sent] ${request.text?.body ?? ''}`,
    );
    return { sid, kind: 'message' };
  }
}
