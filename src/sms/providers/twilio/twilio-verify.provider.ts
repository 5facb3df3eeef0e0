import type { Twilio } from 'twilio';
import { Locale } from '../../../common/locale';
import { CheckOutcome, SendCodeReceipt, SendCodeRequest, SmsProvider } from '../sms-provider';
import { TwilioCircuit } from './twilio-circuit';
import { toProductError } from './twilio-errors';

/** Our locales that Twilio Verify can localize; Amharic is not among Verify's languages. */
const VERIFY_LOCALES: ReadonlySet<Locale> = new Set<Locale>(['en', 'fr']);

/** Twilio Verify v2: Twilio makes the code, sends it in its own localized text, and checks it. */
export class TwilioVerifyProvider extends SmsProvider {
  readonly name = 'twilio-verify' as const;
  readonly ownsCodes = true;

  constructor(
    private readonly client: Twilio,
    private readonly serviceSid: string,
    private readonly circuit: TwilioCircuit,
  ) {
    super();
  }

  supportsLocale(locale: Locale): boolean {
    return VERIFY_LOCALES.has(locale);
  }

  async send(request: SendCodeRequest): Promise<SendCodeReceipt> {
    try {
      const verification = await this.circuit.run(() =>
        this.client.verify.v2.services(this.serviceSid).verifications.create({
          to: request.to,
          channel: 'sms',
          ...(this.supportsLocale(request.locale) ? { locale: request.locale } : {}),
        }),
      );
      return { sid: verification.sid, kind: 'verification' };
    } catch (error) {
      throw toProductError(error);
    }
  }

  override async check(to: string, code: string): Promise<CheckOutcome> {
    try {
      const check = await this.circuit.run(() =>
        this.client.verify.v2.services(this.serviceSid).verificationChecks.create({ to, code }),
      );
      return check.status === 'approved' ? 'approved' : 'rejected';
    } catch (error) {
      throw toProductError(error);
    }
  }
}
