import { Injectable } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { Clock } from '../common/clock';
import { SmsEvent, SmsEvents, lifecycleStatus } from '../common/events/sms-events';
import { Hasher } from '../common/hasher';
import { ProductError } from '../common/errors/product-error';
import { RandomSource } from '../common/random';
import { Configuration } from '../config/configuration';
import { PhoneService } from '../phone/phone.service';
import { RateLimitService } from './abuse/rate-limit.service';
import { SmsRequests } from './abuse/sms-request';
import { VerificationResponseDto } from './dto/verification-response.dto';
import { deferProofOutcome } from './proof-outcome.interceptor';
import { ProviderTiming } from './provider-timing';
import { SmsProvider } from './providers/sms-provider';
import { SmsProviders } from './providers/sms-providers';
import { Purpose } from '../common/purpose';
import { SmsConfig } from './sms.config';
import {
  InvalidProofError,
  VerificationAttemptsExceededError,
  VerificationNotFoundError,
} from './sms.errors';
import { VerificationResources } from './verification-resources';
import { VerificationRepository } from './verification.repository';
import { VerificationRow } from './verification.rows';

export interface CheckVerificationInput {
  phoneNumber: string;
  code: string;
  purpose: Purpose;
  countryCode?: string;
  /** For the code-check limits, which are per client (Hasher.hashClient). */
  clientIp: string;
  /** An auth endpoint's proof: its `verified` event waits for the endpoint's answer. */
  asProof?: boolean;
}

/** SMS proof for an auth endpoint: the code itself, or the token verify-code handed out. */
export interface ProofInput {
  e164: string;
  purpose: Purpose;
  code?: string;
  verificationToken?: string;
  clientIp: string;
}

/** What a refused check reports: the verification it named, when there was one. */
interface CheckedNumber {
  phoneHash: string;
  purpose: Purpose;
  country: string;
  now: Date;
  verificationId?: string;
}

/**
 * Checks one-time codes and the verification tokens a right code earns. The attempt is counted
 * before the code is compared, atomically, so concurrent guesses cannot share a slot, and a
 * verification is approved once however many right codes arrive together.
 */
@Injectable()
export class CodeChecker {
  private readonly sms: SmsConfig;

  constructor(
    private readonly verifications: VerificationRepository,
    private readonly resources: VerificationResources,
    private readonly timing: ProviderTiming,
    private readonly phones: PhoneService,
    private readonly requests: SmsRequests,
    private readonly providers: SmsProviders,
    private readonly limits: RateLimitService,
    private readonly events: SmsEvents,
    private readonly hasher: Hasher,
    private readonly clock: Clock,
    private readonly random: RandomSource,
    config: ConfigService<Configuration, true>,
  ) {
    this.sms = config.get('sms', { infer: true });
  }

  async check(input: CheckVerificationInput): Promise<VerificationResponseDto> {
    // On /sms/verify-code the route's guard already worked out the number and its hashes.
    const known = this.requests.current(input);
    const phone = known?.phone ?? this.phones.normalize(input.phoneNumber, input.countryCode);
    const guess = known ?? this.requests.subject(input, phone, input.clientIp);
    const { phoneHash } = guess;
    // Every code check passes here (verify-code and the auth endpoints), so does the client's
    // limit, unless the route's guard applied it to this very request already.
    if (!known?.codeCheckCounted) await this.limits.consumeCodeCheck(guess);
    const now = this.clock.now();
    const checked: CheckedNumber = {
      phoneHash,
      purpose: input.purpose,
      country: phone.country,
      now,
    };

    const counted = await this.verifications.countAttempt({
      phoneHash,
      purpose: input.purpose,
      now,
    });
    if (!counted) {
      // No live verification: nothing to guess, so none of the phone's budgets is spent.
      throw this.reported(
        await this.explainUncountedAttempt(phoneHash, input.purpose, now),
        checked,
      );
    }
    try {
      await this.limits.consumeCodeGuess(guess);
    } catch (error) {
      // Refused before its code was compared: the verification keeps the attempt.
      await this.verifications.giveBackAttempt(counted.id);
      throw error;
    }

    const correct = await this.compare(counted, phone.e164, input.code).catch((error: unknown) => {
      throw this.reported(error, { ...checked, verificationId: counted.id });
    });
    if (correct) {
      const token = `vt_${this.random.token(32)}`;
      const approved = await this.verifications.approve({
        id: counted.id,
        now,
        tokenHash: this.hasher.hash('verification-token', token),
        tokenExpiresAt: new Date(now.getTime() + this.sms.verificationTokenTtlSeconds * 1000),
      });
      // Another request approved it first: this one proves nothing.
      if (!approved) throw new VerificationNotFoundError();
      await this.limits.clearCodeGuesses(guess);
      const verified: SmsEvent = {
        status: lifecycleStatus('verified', approved.channel)!,
        occurredAt: now,
        phoneHash,
        purpose: input.purpose,
        country: phone.country,
        verificationId: approved.id,
        channel: approved.channel,
        providerSid: approved.twilio_sid ?? undefined,
      };
      if (!(input.asProof && deferProofOutcome(verified))) this.events.publish(verified);
      return { ...this.resources.of(approved, phone.e164, true), verification_token: token };
    }

    if (counted.attempts >= counted.max_attempts) {
      await this.verifications.fail(counted.id, now);
      throw this.reported(new VerificationAttemptsExceededError(), {
        ...checked,
        verificationId: counted.id,
      });
    }
    this.events.publish({
      status: 'wrong_code',
      occurredAt: now,
      phoneHash,
      purpose: input.purpose,
      country: phone.country,
      verificationId: counted.id,
      channel: counted.channel,
      errorCode: 'WRONG_CODE',
    });
    return this.resources.of(counted, phone.e164, false);
  }

  /**
   * Auth endpoints' SMS proof: a code (checked and spent at once) or a verification_token. Any
   * failure is the same InvalidProofError; only rate limits answer differently (429).
   */
  async prove(input: ProofInput): Promise<void> {
    if (input.verificationToken !== undefined) {
      if (await this.consumeToken(input.verificationToken, input.e164, input.purpose)) return;
      throw new InvalidProofError();
    }
    if (input.code === undefined) throw new InvalidProofError();
    let token: string | undefined;
    try {
      const result = await this.check({
        phoneNumber: input.e164,
        code: input.code,
        purpose: input.purpose,
        clientIp: input.clientIp,
        asProof: true,
      });
      token = result.verification_token;
    } catch (error) {
      if (error instanceof VerificationNotFoundError) throw new InvalidProofError();
      throw error;
    }
    if (!token || !(await this.consumeToken(token, input.e164, input.purpose))) {
      throw new InvalidProofError();
    }
  }

  /**
   * Spends a verification_token: true exactly once, for the phone and purpose it was issued for,
   * before it expires.
   */
  consumeToken(token: string, e164: string, purpose: Purpose): Promise<boolean> {
    return this.verifications.consumeToken(
      this.hasher.hash('verification-token', token),
      this.hasher.hash('phone', e164),
      purpose,
      this.clock.now(),
    );
  }

  /**
   * A code check refused because its verification's attempt budget is spent (here or at Twilio)
   * is a security incident: the budget exists against guessing. Returns the error to throw.
   */
  private reported(error: unknown, check: CheckedNumber): unknown {
    if (error instanceof VerificationAttemptsExceededError) {
      this.events.publish({
        status: 'security',
        layer: 'code-attempts',
        occurredAt: check.now,
        phoneHash: check.phoneHash,
        purpose: check.purpose,
        country: check.country,
        verificationId: check.verificationId,
        errorCode: error.code,
      });
    }
    return error;
  }

  private async compare(row: VerificationRow, e164: string, code: string): Promise<boolean> {
    if (row.code_hash !== null) {
      // A suppressed code would have been checked at Twilio (Verify): take as long.
      if (row.channel === 'suppressed') await this.timing.imitateCheck();
      return this.hasher.matches('code', code, row.code_hash);
    }
    const provider = this.providers.byName(row.channel as SmsProvider['name']);
    try {
      if (!provider) throw new VerificationNotFoundError();
      const started = performance.now();
      const outcome = await provider.check(code, {
        to: e164,
        verificationSid: row.provider_sid ?? undefined,
      });
      this.timing.recordCheck(performance.now() - started);
      return outcome === 'approved';
    } catch (error) {
      const code = error instanceof ProductError ? error.code : undefined;
      // Twilio no longer has it pending (expired there, or a concurrent check approved it, in
      // which case that request owns the approval): this attempt proves nothing.
      if (code === 'VERIFICATION_NOT_FOUND') throw new VerificationNotFoundError();
      if (code === 'VERIFICATION_ATTEMPTS_EXCEEDED') {
        await this.verifications.fail(row.id, this.clock.now());
        throw new VerificationAttemptsExceededError();
      }
      // The provider failed: this attempt tested nothing, so it is given back.
      await this.verifications.giveBackAttempt(row.id);
      throw error;
    }
  }

  private async explainUncountedAttempt(
    phoneHash: string,
    purpose: Purpose,
    now: Date,
  ): Promise<ProductError> {
    const live = await this.verifications.findPending(phoneHash, purpose);
    // Out of attempts. The status is left alone: a check still in flight may be the right code,
    // and the last counted wrong attempt marks the verification failed itself.
    if (live && live.expires_at > now && live.attempts >= live.max_attempts) {
      return new VerificationAttemptsExceededError();
    }
    return new VerificationNotFoundError();
  }
}
