import { Injectable } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { SmsEvent, SmsEvents } from '../common/events/sms-events';
import { ProductError } from '../common/errors/product-error';
import { Locale } from '../common/locale';
import { Configuration } from '../config/configuration';
import { NormalizedPhone } from '../phone/phone.service';
import { SpendBudgetService } from './abuse/budget/spend-budget.service';
import { ActiveHold } from './abuse/pumping/sms-hold.repository';
import { SendCapLayer } from './abuse/rate-limit.service';
import { CarrierLookupService } from './carrier-lookup.service';
import { Purpose } from '../common/purpose';
import { ProviderFailure, SendCodeReceipt, SmsProvider } from './providers/sms-provider';
import { SmsConfig } from './sms.config';
import { SmsTextService } from './texts/sms-text.service';
import { VerificationRepository } from './verification.repository';
import { VerificationRow } from './verification.rows';

/** The number a send goes to, with its keys. */
export interface Target {
  phone: NormalizedPhone;
  phoneHash: string;
  prefixHash: string;
  /** HMAC of the sender's network (Hasher.hashClientNetwork), when the request came over HTTP. */
  clientNetworkHash: string | null;
  /** Answer as usual, deliver nothing: the filter that refused (see DeliveryFilters), or `held`. */
  suppressedBy?: string;
  /** The pumping hold that keeps this number, which has no verified history, from its code. */
  heldBy?: ActiveHold;
  /** The full send cap that keeps this number from its code. */
  cappedBy?: SendCapLayer;
}

/** Target.suppressedBy of a send a pumping hold keeps from a number without history. */
export const HELD = 'held';
/** Target.suppressedBy of a send past a full country or global cap that delivers nothing. */
export const CAPPED = 'capped';

/**
 * What happens to a code once its verification row is written: the provider call, or the
 * delivery that does not happen (suppressed, held, a test number), each reported as its event.
 */
@Injectable()
export class CodeDelivery {
  private readonly sms: SmsConfig;

  constructor(
    private readonly verifications: VerificationRepository,
    private readonly budget: SpendBudgetService,
    private readonly carriers: CarrierLookupService,
    private readonly events: SmsEvents,
    private readonly texts: SmsTextService,
    config: ConfigService<Configuration, true>,
  ) {
    this.sms = config.get('sms', { infer: true });
  }

  /** One provider call, reported as a `sent` or `failed` event. */
  async deliver(
    provider: SmsProvider,
    target: Target,
    purpose: Purpose,
    locale: Locale,
    code: string | undefined,
    verification: VerificationRow,
    now: Date,
  ): Promise<SendCodeReceipt> {
    const { phone, phoneHash } = target;
    const validitySeconds = Math.max(
      1,
      Math.floor((verification.expires_at.getTime() - now.getTime()) / 1000),
    );
    const text = code
      ? this.texts.render(purpose, locale, { code, minutes: this.sms.expiryMinutes[purpose] })
      : undefined;
    const carrier = await this.carriers.carrierOf(phone.e164, phoneHash);
    const started = performance.now();
    const base = { verificationId: verification.id, channel: provider.name, carrier };
    try {
      const receipt = await provider.send({
        to: phone.e164,
        purpose,
        locale,
        validitySeconds,
        text,
      });
      const latencyMs = performance.now() - started;
      const segments = text?.segments ?? 1;
      this.publish(
        {
          ...base,
          status: 'sent',
          occurredAt: now,
          providerSid: receipt.sid,
          encoding: text?.encoding,
          segments,
          cost: this.budget.priceOf(phone.country, segments),
          currency: this.budget.currency,
          costSource: 'estimate',
          providerLatencyMs: latencyMs,
        },
        target,
        purpose,
      );
      return receipt;
    } catch (error) {
      this.publish(
        {
          ...base,
          status: 'failed',
          occurredAt: now,
          ...failureDetails(error),
          providerLatencyMs: performance.now() - started,
        },
        target,
        purpose,
      );
      throw error;
    }
  }

  /**
   * Nothing is delivered; the answer and its timing look like a delivery. Reported as `held` when
   * a pumping hold (layer `pumping-prefix`, `pumping-country`) or a full send cap (`country-cap`,
   * `global-cap`) is the reason (operators count those), else as `suppressed`.
   */
  suppress(target: Target, purpose: Purpose, row: VerificationRow, now: Date): void {
    const held = target.suppressedBy === HELD ? target.heldBy : undefined;
    const capped = target.suppressedBy === CAPPED ? target.cappedBy : undefined;
    this.publish(
      {
        status: held || capped ? 'held' : 'suppressed',
        occurredAt: now,
        verificationId: row.id,
        channel: 'suppressed',
        errorCode: held ? 'PUMPING_HOLD' : capped ? 'SEND_CAP' : target.suppressedBy?.toUpperCase(),
        layer: held ? `pumping-${held.scope}` : capped ? `${capped}-cap` : undefined,
      },
      target,
      purpose,
    );
  }

  /** A test number's "send": nothing goes out, and it must not count as an SMS sent. */
  testSend(target: Target, purpose: Purpose, row: VerificationRow, now: Date): void {
    this.publish(
      { status: 'test_sent', occurredAt: now, verificationId: row.id, channel: 'test-number' },
      target,
      purpose,
    );
  }

  /**
   * Twilio Verify keeps one pending verification per number, whatever our purpose: a send for this
   * purpose while another purpose's was pending had Twilio send that one's code again. Only the
   * purpose it was sent for last may use it; the others end (as expired), so a code asked for
   * one purpose never approves another. Rows whose sid is not recorded yet are among them.
   */
  async endOtherPurposesSharing(
    providerSid: string,
    target: Target,
    purpose: Purpose,
    now: Date,
  ): Promise<void> {
    const ended = await this.verifications.endOtherPurposesSharing(
      target.phoneHash,
      purpose,
      providerSid,
      now,
    );
    for (const row of ended) {
      this.publish(
        {
          status: 'expired',
          occurredAt: now,
          verificationId: row.id,
          channel: row.channel,
          errorCode: 'SUPERSEDED',
        },
        target,
        row.purpose,
      );
    }
  }

  publish(event: SmsEvent, target: Target, purpose: Purpose): void {
    this.events.publish({
      phoneHash: target.phoneHash,
      purpose,
      country: target.phone.country,
      ...event,
    });
  }
}

/**
 * A failed send as analytics keep it: the provider's own code and message (Twilio's 60200, say)
 * beside ours, or ours alone when the provider said nothing.
 */
function failureDetails(error: unknown): { errorCode: string; errorMessage?: string } {
  if (!(error instanceof ProductError)) return { errorCode: 'UNEXPECTED_ERROR' };
  const { providerCode, providerMessage } = error as ProductError & ProviderFailure;
  if (!providerCode) return { errorCode: error.code, errorMessage: error.message };
  return {
    errorCode: providerCode,
    errorMessage: `${error.code}: ${providerMessage ?? error.message}`,
  };
}
