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
      return {
        sid: verification.sid,
        kind: 'verification',
        // Twilio answers a send to a number with a pending verification by sending that one's
        // code again: its list of send attempts then has more than one entry.
        reusedPending: (verification.sendCodeAttempts?.length ?? 1) > 1,
      };
    } catch (error) {
      throw toProductError(error);
    }
  }

  override async check(
    code: string,
    { to, verificationSid }: { to: string; verificationSid?: string },
  ): Promise<CheckOutcome> {
    try {
      // By sid when we have it: the number's pending verification at Twilio may be another
      // purpose's, and its code must not approve this one.
      const target = verificationSid ? { verificationSid } : { to };
      const check = await this.circuit.run(() =>
        this.client.verify.v2
          .services(this.serviceSid)
          .verificationChecks.create({ ...target, code }),
      );
      return check.status === 'approved' ? 'approved' : 'rejected';
    } catch (error) {
      throw toProductError(error);
    }
  }
}
