import type { Twilio } from 'twilio';
import { SendCodeReceipt, SendCodeRequest, SmsProvider } from '../sms-provider';
import { TwilioCircuit } from './twilio-circuit';
import { toProductError } from './twilio-errors';

export interface MessagingSender {
  messagingServiceSid?: string;
  /** E.164 number or a registered alphanumeric sender ID (required in Ethiopia). */
  from?: string;
  /** Where Twilio posts delivery status callbacks, when the service has a public URL. */
  statusCallbackUrl?: string;
}

/** Programmable Messaging: our code in our localized text (the only way to send Amharic). */
export class TwilioMessagingProvider extends SmsProvider {
  readonly name = 'twilio-messaging' as const;
  readonly ownsCodes = false;

  constructor(
    private readonly client: Twilio,
    private readonly sender: MessagingSender,
    private readonly circuit: TwilioCircuit,
  ) {
    super();
  }

  supportsLocale(): boolean {
    return true;
  }

  async send(request: SendCodeRequest): Promise<SendCodeReceipt> {
    const text = request.text;
    if (!text) throw new Error('The messaging provider needs the text to send');
    const sender = this.sender.messagingServiceSid
      ? { messagingServiceSid: this.sender.messagingServiceSid }
      : { from: this.sender.from! };
    try {
      const message = await this.circuit.run(() =>
        this.client.messages.create({
          to: request.to,
          body: text.body,
          ...sender,
          // Twilio allows 1-36000 s; past the code's lifetime the SMS is useless, so let it drop.
          validityPeriod: Math.max(1, Math.min(36_000, request.validitySeconds)),
          ...(this.sender.statusCallbackUrl
            ? { statusCallback: this.sender.statusCallbackUrl }
            : {}),
        }),
      );
      return { sid: message.sid, kind: 'message' };
    } catch (error) {
      throw toProductError(error);
    }
  }

  /** What Twilio charged for a message, once it knows (some time after delivery). */
  async priceOf(sid: string): Promise<{ amount: number; currency: string } | null> {
    try {
      const message = await this.circuit.run(() => this.client.messages(sid).fetch());
      if (message.price === null || message.price === undefined || message.price === '')
        return null;
      // Twilio reports charges as negative amounts.
      return {
        amount: Math.abs(Number(message.price)),
        currency: message.priceUnit?.toUpperCase() ?? 'USD',
      };
    } catch (error) {
      throw toProductError(error);
    }
  }
}
