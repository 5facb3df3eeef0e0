import { Injectable, Logger } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { RandomSource } from '../../common/random';
import { Locale } from '../../common/locale';
import { Configuration } from '../../config/configuration';
import { ConsoleProvider } from './console/console.provider';
import { SmsProvider, SmsProviderName } from './sms-provider';
import { TwilioApi, TwilioCircuit } from './twilio/twilio-circuit';
import { createTwilioClient } from './twilio/twilio-client.factory';
import { LineInfo, TwilioLookup } from './twilio/twilio-lookup';
import { TwilioMessagingProvider } from './twilio/twilio-messaging.provider';
import { TwilioVerifyProvider } from './twilio/twilio-verify.provider';

/**
 * The configured providers and the rule that picks one per send: the configured provider, except
 * that a locale Twilio Verify cannot speak (Amharic) goes through Messaging with our own text when
 * Messaging is configured.
 */
@Injectable()
export class SmsProviders {
  private readonly logger = new Logger('SmsProviders');
  private readonly primary: SmsProvider;
  private readonly messaging?: TwilioMessagingProvider;
  private readonly lookup?: TwilioLookup;
  private readonly circuits: TwilioCircuit[] = [];

  constructor(config: ConfigService<Configuration, true>, random: RandomSource) {
    const sms = config.get('sms', { infer: true });
    const twilio = config.get('twilio', { infer: true });
    const app = config.get('app', { infer: true });
    const client = sms.provider === 'console' ? undefined : createTwilioClient(twilio);
    const circuit = (api: TwilioApi): TwilioCircuit => {
      const created = new TwilioCircuit(api, twilio.circuit);
      this.circuits.push(created);
      return created;
    };

    if (client) this.lookup = new TwilioLookup(client, circuit('twilio-lookup'));
    if (client && sms.messagingConfigured) {
      this.messaging = new TwilioMessagingProvider(
        client,
        {
          messagingServiceSid: twilio.messagingServiceSid,
          from: twilio.from,
          statusCallbackUrl: app.publicBaseUrl
            ? `${app.publicBaseUrl}/webhooks/twilio/status`
            : undefined,
        },
        circuit('twilio-messaging'),
      );
    }
    if (sms.provider === 'twilio-verify' && client) {
      this.primary = new TwilioVerifyProvider(
        client,
        twilio.verifyServiceSid!,
        circuit('twilio-verify'),
      );
    } else if (sms.provider === 'twilio-messaging' && this.messaging) {
      this.primary = this.messaging;
    } else {
      this.primary = new ConsoleProvider(random);
    }
    this.logger.log(
      `SMS provider: ${this.primary.name}${this.messaging && this.primary !== this.messaging ? ' (Messaging for locales Verify lacks)' : ''}`,
    );
    if (this.primary.name === 'console') {
      this.logger.warn(
        'The console provider writes codes to the log instead of sending them (development only)',
      );
    }
  }

  forLocale(locale: Locale): SmsProvider {
    if (this.primary.supportsLocale(locale) || !this.messaging) return this.primary;
    return this.messaging;
  }

  /** Twilio's price for a sent message, when Messaging is configured and Twilio knows it. */
  async messagePrice(sid: string): Promise<{ amount: number; currency: string } | null> {
    return this.messaging ? this.messaging.priceOf(sid) : null;
  }

  /** Carrier and line type from Twilio Lookup; null without Twilio. */
  async lineInfo(e164: string): Promise<LineInfo | null> {
    return this.lookup ? this.lookup.lineInfo(e164) : null;
  }

  /** Whether each Twilio API's circuit breaker is open, for metrics; empty without Twilio. */
  circuitStates(): { api: TwilioApi; open: boolean }[] {
    return this.circuits.map((circuit) => ({ api: circuit.api, open: circuit.isOpen }));
  }

  byName(name: SmsProviderName): SmsProvider | undefined {
    if (this.primary.name === name) return this.primary;
    if (this.messaging?.name === name) return this.messaging;
    return undefined;
  }
}
