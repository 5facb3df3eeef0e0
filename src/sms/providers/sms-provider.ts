import { Locale } from '../../common/locale';
import { Purpose } from '../../common/purpose';

export type SmsProviderName = 'twilio-verify' | 'twilio-messaging' | 'console';

export interface SmsText {
  body: string;
  encoding: 'GSM-7' | 'UCS-2';
  segments: number;
}

export interface SendCodeRequest {
  /** E.164. */
  to: string;
  /** What the text is for: a code's purpose, or a notice that carries no code. */
  purpose: Purpose | 'notice';
  locale: Locale;
  /** How long the code stays valid; carriers may drop the SMS after that. */
  validitySeconds: number;
  /** Our text with our code in it; absent for providers that make their own code. */
  text?: SmsText;
}

export interface SendCodeReceipt {
  /** Twilio Verification sid (VE…) or Message sid (SM…); console sends get a local one. */
  sid: string;
  kind: 'verification' | 'message';
  /**
   * Verify only: the provider sent the code of a verification it already had pending for this
   * number (Twilio keeps one per number, whatever our purpose) instead of starting a new one.
   */
  reusedPending?: boolean;
}

/**
 * What the provider itself said about a failure, beside the product's own error: Twilio's error
 * code and its message with phone numbers masked. Set by the adapters on the errors they throw.
 */
export interface ProviderFailure {
  providerCode?: string;
  providerMessage?: string;
}

export type CheckOutcome = 'approved' | 'rejected';

/**
 * Where codes go out. Twilio Verify makes, sends and checks its own codes (`ownsCodes`); the
 * messaging and console providers deliver a text with our code in it. Twilio's vocabulary and
 * errors are translated inside the Twilio adapters and nowhere else.
 */
export abstract class SmsProvider {
  abstract readonly name: SmsProviderName;
  abstract readonly ownsCodes: boolean;

  /** Whether this provider can deliver a text in `locale`. */
  abstract supportsLocale(locale: Locale): boolean;

  abstract send(request: SendCodeRequest): Promise<SendCodeReceipt>;

  /**
   * Only for providers that own codes: checks `code` against exactly the verification
   * `verificationSid` names (when known) or else the number's pending one.
   */
  check(_code: string, _target: { to: string; verificationSid?: string }): Promise<CheckOutcome> {
    return Promise.reject(new Error(`${this.name} does not check codes`));
  }
}
