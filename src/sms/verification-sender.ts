import { Injectable, Logger } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { Clock } from '../common/clock';
import { SmsEvents, lifecycleStatus } from '../common/events/sms-events';
import { Hasher } from '../common/hasher';
import { ProductError } from '../common/errors/product-error';
import { RandomSource } from '../common/random';
import { Locale } from '../common/locale';
import { uuidV7 } from '../common/uuid';
import { Configuration } from '../config/configuration';
import { NormalizedPhone, PhoneService } from '../phone/phone.service';
import { PhoneCountryNotSupportedError, PhoneTypeNotAllowedError } from '../phone/phone.errors';
import { SpendBudgetService } from './abuse/budget/spend-budget.service';
import { PumpingGuardService } from './abuse/pumping/pumping-guard.service';
import { RateLimitService } from './abuse/rate-limit.service';
import { SmsRequests } from './abuse/sms-request';
import { CAPPED, CodeDelivery, HELD, Target } from './code-delivery';
import { DeliveryFilters } from './delivery-filters';
import { VerificationResponseDto } from './dto/verification-response.dto';
import { NumberHistory } from './number-history';
import { ProviderTiming } from './provider-timing';
import { SendCodeReceipt, SmsProvider } from './providers/sms-provider';
import { SmsProviders } from './providers/sms-providers';
import { Purpose } from '../common/purpose';
import { SmsConfig } from './sms.config';
import { VerificationResendLimitError } from './sms.errors';
import { resolveLocale } from './texts/locale-resolver';
import { VerificationResources } from './verification-resources';
import { DeliveryChannel } from './verification.entity';
import { VerificationRepository } from './verification.repository';
import { VerificationRow } from './verification.rows';

export interface SendVerificationInput {
  phoneNumber: string;
  purpose: Purpose;
  countryCode?: string;
  locale?: string;
  acceptLanguage?: string;
  /** Where the request came from: pumping statistics count the networks sends come from. */
  clientIp?: string;
}

/**
 * Sends one-time codes: a first send starts a verification, a send while one is live sends it
 * again. No transaction or connection is held while the provider is called. A send that must not
 * deliver (see Target.suppressedBy) answers exactly like one that does, in the same time.
 */
@Injectable()
export class VerificationSender {
  private readonly logger = new Logger('VerificationSender');
  private readonly sms: SmsConfig;

  constructor(
    private readonly verifications: VerificationRepository,
    private readonly delivery: CodeDelivery,
    private readonly resources: VerificationResources,
    private readonly timing: ProviderTiming,
    private readonly phones: PhoneService,
    private readonly requests: SmsRequests,
    private readonly providers: SmsProviders,
    private readonly limits: RateLimitService,
    private readonly pumping: PumpingGuardService,
    private readonly budget: SpendBudgetService,
    private readonly filters: DeliveryFilters,
    private readonly history: NumberHistory,
    private readonly events: SmsEvents,
    private readonly hasher: Hasher,
    private readonly clock: Clock,
    private readonly random: RandomSource,
    config: ConfigService<Configuration, true>,
  ) {
    this.sms = config.get('sms', { infer: true });
    if (this.sms.testNumbers.size > 0) {
      this.logger.warn(
        `SMS_TEST_NUMBERS: ${this.sms.testNumbers.size} test numbers answer with fixed codes and receive no SMS`,
      );
    }
    if (this.sms.testNumbersIgnored) {
      this.logger.warn(
        'SMS_TEST_NUMBERS is set but ignored in production (SMS_ALLOW_TEST_NUMBERS_IN_PRODUCTION is false)',
      );
    }
  }

  async send(input: SendVerificationInput): Promise<VerificationResponseDto> {
    // On /sms/send-verification the route's guard already worked out the number and its hashes,
    // and which send caps were full (only numbers with history get a code past those).
    const known = this.requests.current(input);
    const subject =
      known ?? this.requests.subject(input, this.normalizeForSend(input), input.clientIp ?? '');
    const { phone, prefix } = subject;
    const target: Target = {
      phone,
      phoneHash: subject.phoneHash,
      prefixHash: subject.prefixHash,
      clientNetworkHash: input.clientIp === undefined ? null : subject.clientNetworkHash,
    };
    const locale = resolveLocale(
      { requested: input.locale, acceptLanguage: input.acceptLanguage, country: phone.country },
      this.sms,
    );
    if (this.sms.testNumbers.has(phone.e164))
      return this.startOrResend(target, input.purpose, locale);

    // Every check of every send, whatever the number and whether or not a hold applies, started
    // together: which of them mattered must not show in the time the answer takes.
    const fullCaps = known?.fullCaps ?? [];
    const [refusal, hold, verifiedBefore] = await Promise.all([
      this.filters.refusal({
        e164: phone.e164,
        phoneHash: target.phoneHash,
        purpose: input.purpose,
      }),
      this.pumping.holdOn({
        country: phone.country,
        prefixHash: target.prefixHash,
        prefixLabel: `${prefix}····`,
      }),
      this.pumping.enabled || fullCaps.length > 0
        ? this.history.verifiedBefore(target.phoneHash)
        : false,
    ]);
    // A hold, or a full country or global cap, spares numbers that verified before: an attacker
    // who trips it cannot cut real users off. Others are answered exactly like a real send and get
    // nothing, so the answer does not tell which numbers have an account or a history (a 503 or a
    // 429 for them alone would).
    if (hold && !verifiedBefore) target.heldBy = hold;
    if (fullCaps.length > 0 && !verifiedBefore) target.cappedBy = fullCaps[0];
    target.suppressedBy = refusal ?? (target.heldBy ? HELD : target.cappedBy ? CAPPED : undefined);
    // From here a real send and a silent one do different work; the silent one ends by waiting
    // out the difference (ProviderTiming).
    const started = performance.now();
    // A number with history past a full cap counts on the cap's second window; once that is spent
    // too it gets nothing either. Counted after `started`, so silent sends imitate its time too.
    if (
      fullCaps.length > 0 &&
      target.suppressedBy === undefined &&
      !(await this.limits.consumeSparedSend(phone.country, fullCaps))
    ) {
      target.cappedBy = fullCaps[0];
      target.suppressedBy = CAPPED;
    }
    // The budget answers the same for suppressed sends as for real ones, for the same reason.
    if (target.suppressedBy) await this.budget.assertAvailable(phone.country, 1);
    // Every shipped text fits one segment (sms-text.service.spec.ts), as does Verify's.
    const reservation = target.suppressedBy
      ? undefined
      : await this.budget.reserve(phone.country, 1);
    let answer: VerificationResponseDto;
    try {
      answer = await this.startOrResend(target, input.purpose, locale);
    } catch (error) {
      await this.budget.release(reservation);
      throw error;
    }
    await this.timing.sendDone(target.suppressedBy !== undefined, performance.now() - started);
    return answer;
  }

  private async startOrResend(
    target: Target,
    purpose: Purpose,
    locale: Locale,
  ): Promise<VerificationResponseDto> {
    for (let round = 1; ; round += 1) {
      const now = this.clock.now();
      const created = await this.createLive(target, purpose, locale, now);
      if (created) return this.resources.of(created, target.phone.e164, false);
      // A live verification whose time ran out no longer blocks a new one.
      if (round < 3 && (await this.expireStale(target, purpose, now)) > 0) continue;
      try {
        return await this.resend(target, purpose, now);
      } catch (error) {
        // The live verification ended between our two statements: start a new one.
        if (!(error instanceof VerificationEndedError) || round >= 3) throw error;
      }
    }
  }

  private async expireStale(target: Target, purpose: Purpose, now: Date): Promise<number> {
    const expired = await this.verifications.expireStale(target.phoneHash, purpose, now);
    // The expiry sweep (expiry-sweeper.ts) records most expiries; whichever of the two flips the
    // row reports it, dated when the code expired.
    for (const row of expired) {
      const status = lifecycleStatus('expired', row.channel);
      if (!status) continue;
      this.delivery.publish(
        { status, occurredAt: row.expires_at, verificationId: row.id, channel: row.channel },
        target,
        purpose,
      );
    }
    return expired.length;
  }

  /**
   * The number of a send, normalized. A valid number refused for its country or line type is
   * reported (a stream of them is SMS pumping looking for a way in), by HMAC like any other.
   */
  private normalizeForSend(input: SendVerificationInput): NormalizedPhone {
    try {
      return this.phones.normalize(input.phoneNumber, input.countryCode);
    } catch (error) {
      if (!(
        error instanceof PhoneCountryNotSupportedError || error instanceof PhoneTypeNotAllowedError
      )) {
        throw error;
      }
      let seen: ReturnType<PhoneService['inspect']>;
      try {
        seen = this.phones.inspect(input.phoneNumber, input.countryCode);
      } catch {
        throw error; // the countryCode itself was refused: a bad request, not a number
      }
      if (seen.e164) {
        this.events.publish({
          status: 'refused',
          layer: error instanceof PhoneTypeNotAllowedError ? 'line-type' : 'country',
          occurredAt: this.clock.now(),
          phoneHash: this.hasher.hash('phone', seen.e164),
          purpose: input.purpose,
          country: seen.country ?? undefined,
          errorCode: error.code,
        });
      }
      throw error;
    }
  }

  /** A new verification, its code sent; undefined when the number already has a live one. */
  private async createLive(
    target: Target,
    purpose: Purpose,
    locale: Locale,
    now: Date,
  ): Promise<VerificationRow | undefined> {
    const { phone, suppressedBy } = target;
    const suppressed = suppressedBy !== undefined;
    const testCode = this.sms.testNumbers.get(phone.e164);
    const provider = testCode || suppressed ? undefined : this.providers.forLocale(locale);
    const code =
      testCode ?? (provider?.ownsCodes ? undefined : this.random.digits(this.sms.codeLength));
    const channel: DeliveryChannel = testCode
      ? 'test-number'
      : suppressed
        ? 'suppressed'
        : provider!.name;
    // Time-ordered: the primary key index grows at its right edge (see uuidV7).
    const id = uuidV7(now.getTime());
    const row = await this.verifications.insertPending({
      id,
      phoneHash: target.phoneHash,
      purpose,
      sid: provider?.ownsCodes ? null : this.resources.newSid(),
      channel,
      codeHash: code ? this.hasher.hash('code', code) : null,
      locale,
      country: phone.country,
      maxAttempts: this.sms.maxAttempts,
      now,
      expiresAt: new Date(now.getTime() + this.sms.expiryMinutes[purpose] * 60_000),
      prefixHash: target.prefixHash,
      clientNetworkHash: target.clientNetworkHash,
    });
    if (!row) return undefined;
    if (channel === 'suppressed') this.delivery.suppress(target, purpose, row, now);
    if (channel === 'test-number') this.delivery.testSend(target, purpose, row, now);
    if (!provider) return row;

    let receipt: SendCodeReceipt;
    try {
      receipt = await this.delivery.deliver(provider, target, purpose, locale, code, row, now);
    } catch (error) {
      // Nothing was sent: the row must not look like a live verification.
      await this.verifications.fail(id, now);
      throw error;
    }
    const verificationSid = receipt.kind === 'verification' ? receipt.sid : null;
    // The code is on its way and the row already checks it: a failure to note the sids must not
    // turn the answer into an error (the client would ask again and get a second SMS).
    await this.verifications
      .recordSids({
        id,
        verificationSid,
        messageSid: receipt.kind === 'message' ? receipt.sid : null,
      })
      .catch((error: unknown) => {
        this.logger.warn({ err: error, verificationId: id }, 'could not record the provider sids');
      });
    if (receipt.reusedPending)
      await this.delivery.endOtherPurposesSharing(receipt.sid, target, purpose, now);
    return { ...row, twilio_sid: row.twilio_sid ?? verificationSid };
  }

  private async resend(
    target: Target,
    purpose: Purpose,
    now: Date,
  ): Promise<VerificationResponseDto> {
    const { phone, phoneHash } = target;
    const reserved = await this.verifications.reserveResend(
      phoneHash,
      purpose,
      this.sms.maxSendsPerVerification,
      now,
    );
    if (!reserved) {
      const live = await this.verifications.findPending(phoneHash, purpose, now);
      if (live) {
        const secondsLeft = Math.ceil((live.expires_at.getTime() - now.getTime()) / 1000);
        throw new VerificationResendLimitError(Math.max(1, secondsLeft));
      }
      // It was approved or expired in the meantime: a send now starts a new verification.
      throw new VerificationEndedError();
    }
    if (reserved.channel === 'test-number') {
      this.delivery.testSend(target, purpose, reserved, now);
      return this.resources.of(reserved, phone.e164, false);
    }
    // Nothing goes to a number that may not get this code now, whatever went before: one whose
    // delivery failed permanently since, one no longer for this purpose, or a stranger's under a
    // pumping hold or past a full send cap (a code delivered before stays valid).
    if (target.suppressedBy !== undefined) {
      this.delivery.suppress(target, purpose, reserved, now);
      return this.resources.of(reserved, phone.e164, false);
    }

    const provider =
      reserved.channel === 'suppressed'
        ? this.providers.forLocale(reserved.locale)
        : this.providers.byName(reserved.channel as SmsProvider['name']);
    if (!provider) throw new VerificationEndedError();
    // A silent verification whose number may now get this code (a login code asked for before
    // the account existed): its first real need gets a real code at once, in the same
    // verification, so the answer (sid, dates) is that of any resend. Attempts spent on the code
    // nobody had start over; the lifetime starts now.
    const startsDelivering = reserved.channel === 'suppressed';
    if (startsDelivering) {
      reserved.expires_at = new Date(now.getTime() + this.sms.expiryMinutes[purpose] * 60_000);
    }
    const code = provider.ownsCodes ? undefined : this.random.digits(this.sms.codeLength);
    try {
      const receipt = await this.delivery.deliver(
        provider,
        target,
        purpose,
        reserved.locale,
        code,
        reserved,
        now,
      );
      const updated = await this.verifications.recordResend({
        id: reserved.id,
        codeHash: code ? this.hasher.hash('code', code) : null,
        messageSid: receipt.kind === 'message' ? receipt.sid : null,
        verificationSid: receipt.kind === 'verification' ? receipt.sid : null,
        channel: provider.name,
        startsDelivering,
        expiresAt: reserved.expires_at,
      });
      if (receipt.reusedPending) {
        await this.delivery.endOtherPurposesSharing(receipt.sid, target, purpose, now);
      }
      return this.resources.of(updated ?? reserved, phone.e164, false);
    } catch (error) {
      // Give the send slot back; the previous code stays valid.
      await this.verifications.giveBackSend(reserved.id);
      throw error;
    }
  }
}

/** Internal: the verification a resend targeted was approved or expired meanwhile. */
class VerificationEndedError extends ProductError {
  constructor() {
    super(
      'VERIFICATION_CHANGED',
      'The verification changed while sending. Please try again.',
      'conflict',
    );
  }
}
