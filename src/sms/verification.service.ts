import { Injectable, Logger } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { Clock } from '../common/clock';
import { SmsEvent, SmsEvents, lifecycleStatus } from '../common/events/sms-events';
import { Hasher } from '../common/hasher';
import { ProductError } from '../common/errors/product-error';
import { RandomSource } from '../common/random';
import { Locale } from '../common/locale';
import { uuidV7 } from '../common/uuid';
import { Configuration } from '../config/configuration';
import { Sql } from '../database/sql';
import { StatementBatcher, WriteBatcher } from '../database/write-batcher';
import { NormalizedPhone } from '../phone/phone.service';
import { PhoneService } from '../phone/phone.service';
import { PhoneCountryNotSupportedError, PhoneTypeNotAllowedError } from '../phone/phone.errors';
import { SpendBudgetService } from '../rate-limit/budget/spend-budget.service';
import { PumpingGuardService } from '../rate-limit/pumping/pumping-guard.service';
import { ActiveHold } from '../rate-limit/pumping/sms-hold.repository';
import { RateLimitService, SendCapLayer } from '../rate-limit/rate-limit.service';
import { SmsConfig, TwilioConfig } from './sms.config';
import {
  InvalidProofError,
  VerificationAttemptsExceededError,
  VerificationNotFoundError,
  VerificationResendLimitError,
} from './sms.errors';
import { DeliveryFilters } from './delivery-filters';
import { NumberHistory } from './number-history';
import { deferProofOutcome } from './proof-outcome.interceptor';
import { Purpose } from './purpose';
import { ProviderFailure, SendCodeReceipt, SmsProvider } from './providers/sms-provider';
import { CarrierLookupService } from './carrier-lookup.service';
import { SmsProviders } from './providers/sms-providers';
import { resolveLocale } from './texts/locale-resolver';
import { SmsTextService } from './texts/sms-text.service';
import { DeliveryChannel, VerificationStatus, pendingRow } from './verification.entity';
import { VerificationResponseDto } from './dto/verification-response.dto';
import { ObservedLatency } from './observed-latency';

export interface SendVerificationInput {
  phoneNumber: string;
  purpose: Purpose;
  countryCode?: string;
  locale?: string;
  acceptLanguage?: string;
  /** Where the request came from: pumping statistics count the networks sends come from. */
  clientIp?: string;
  /** The send caps SmsRateLimitGuard found full: only numbers with history get this code. */
  fullCaps?: readonly SendCapLayer[];
}

export interface CheckVerificationInput {
  phoneNumber: string;
  code: string;
  purpose: Purpose;
  countryCode?: string;
  /** For the code-check limits, which are per client (Hasher.hashClient). */
  clientIp: string;
  /** The number SmsRateLimitGuard already applied the client's code-check limit to. */
  limitsAppliedTo?: string;
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

/** The number a send goes to, with its keys. */
interface Target {
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
const HELD = 'held';
/** Target.suppressedBy of a send past a full country or global cap that delivers nothing. */
const CAPPED = 'capped';

/** The columns the service reads back from its atomic statements. */
interface VerificationRow {
  id: string;
  purpose: Purpose;
  twilio_sid: string | null;
  provider_sid: string | null;
  status: VerificationStatus;
  channel: DeliveryChannel;
  code_hash: string | null;
  locale: Locale;
  attempts: number;
  max_attempts: number;
  send_count: number;
  expires_at: Date;
  created_at: Date;
  updated_at: Date;
}

/** What the provider answered a first send with, for its verification's row. */
interface ProviderSids {
  id: string;
  /** Twilio Verify's sid, answered to the client and used for checks. */
  verificationSid: string | null;
  messageSid: string | null;
}

/** A code check's attempt, counted before its code is compared. */
interface AttemptToCount {
  phoneHash: string;
  purpose: Purpose;
  now: Date;
}

/** A right code's approval, with the verification_token it issues. */
interface Approval {
  id: string;
  now: Date;
  tokenHash: string;
  tokenExpiresAt: Date;
}

/** The rows of a batched statement (`RETURNING position, …`) as one answer per item, in order. */
function inOrder<T, R>(batch: T[], rows: (R & { position: string })[]): (R | undefined)[] {
  const byPosition = new Map(rows.map(({ position, ...row }) => [Number(position), row as R]));
  return batch.map((_item, index) => byPosition.get(index + 1));
}

const RETURNING = `id, purpose, twilio_sid, provider_sid, status, channel, code_hash, locale,
  attempts, max_attempts, send_count, expires_at, created_at, updated_at`;

/**
 * Sends and checks one-time codes. Every count and every consumption is one atomic SQL
 * statement, so concurrent requests cannot exceed an attempt budget or approve a code twice;
 * no transaction or connection is held while Twilio is called.
 */
@Injectable()
export class VerificationService {
  private readonly logger = new Logger('VerificationService');
  /**
   * How long real sends take from their budget reservation on, and provider code checks, as
   * measured; imitated by silent sends and checks. They start from a typical Twilio round trip so
   * a fresh instance has no gap to measure.
   */
  private readonly sendTime: ObservedLatency;
  private readonly sidWrites = new WriteBatcher<ProviderSids>((batch) => this.writeSids(batch));
  private readonly approvals = new StatementBatcher<Approval, VerificationRow | undefined>(
    (batch) => this.approve(batch),
    { keyOf: ({ id }) => id },
  );
  /** Code checks count their attempt a batch per statement, one statement per live verification. */
  private readonly attemptCounts = new StatementBatcher<
    AttemptToCount,
    VerificationRow | undefined
  >((batch) => this.countAttempts(batch), {
    keyOf: ({ phoneHash, purpose }) => `${purpose} ${phoneHash}`,
  });
  private readonly checkLatency: ObservedLatency;
  private readonly sms: SmsConfig;
  private readonly twilio: TwilioConfig;

  constructor(
    private readonly sql: Sql,
    private readonly phones: PhoneService,
    private readonly providers: SmsProviders,
    private readonly limits: RateLimitService,
    private readonly pumping: PumpingGuardService,
    private readonly budget: SpendBudgetService,
    private readonly filters: DeliveryFilters,
    private readonly history: NumberHistory,
    private readonly carriers: CarrierLookupService,
    private readonly events: SmsEvents,
    private readonly texts: SmsTextService,
    private readonly hasher: Hasher,
    private readonly clock: Clock,
    private readonly random: RandomSource,
    config: ConfigService<Configuration, true>,
  ) {
    this.sms = config.get('sms', { infer: true });
    this.twilio = config.get('twilio', { infer: true });
    this.sendTime = new ObservedLatency(
      this.sms.provider === 'console' ? 0 : TYPICAL_TWILIO_LATENCY_MS,
    );
    // Only Verify checks codes at the provider; ours are compared here, in no measurable time.
    this.checkLatency = new ObservedLatency(
      this.sms.provider === 'twilio-verify' ? TYPICAL_TWILIO_LATENCY_MS : 0,
    );
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
    const phone = this.normalizeForSend(input);
    const prefix = this.phones.prefixOf(phone.e164);
    const target: Target = {
      phone,
      phoneHash: this.hasher.hash('phone', phone.e164),
      prefixHash: this.hasher.hash('phone-prefix', prefix),
      // 128 bits of the HMAC tell networks apart as well as 256, in half the column.
      clientNetworkHash:
        input.clientIp === undefined
          ? null
          : this.hasher.hashClientNetwork(input.clientIp).slice(0, 32),
    };
    const locale = resolveLocale(
      { requested: input.locale, acceptLanguage: input.acceptLanguage, country: phone.country },
      this.sms,
    );
    if (this.sms.testNumbers.has(phone.e164))
      return this.startOrResend(target, input.purpose, locale);

    // Every check of every send, whatever the number and whether or not a hold applies, started
    // together: which of them mattered must not show in the time the answer takes.
    const fullCaps = input.fullCaps ?? [];
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
    // out the difference (equalizeSendTime).
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
    await this.equalizeSendTime(target, performance.now() - started);
    return answer;
  }

  /**
   * A real send reserves budget, calls the provider and records its sids; a silent one does none
   * of that. Real sends record how long all of it took; silent ones wait until they have taken as
   * long as one of those, picked at random, so the answer's timing does not tell them apart.
   */
  private async equalizeSendTime(target: Target, elapsedMs: number): Promise<void> {
    if (target.suppressedBy === undefined) this.sendTime.record(elapsedMs);
    else await this.sendTime.imitate(elapsedMs);
  }

  private async startOrResend(
    target: Target,
    purpose: Purpose,
    locale: Locale,
  ): Promise<VerificationResponseDto> {
    for (let round = 1; ; round += 1) {
      const now = this.clock.now();
      const created = await this.createLive(target, purpose, locale, now);
      if (created) return this.resource(created.row, target.phone.e164, false);
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
    const expired = await this.sql.rows<{ id: string; channel: string; expires_at: Date }>(
      `UPDATE sms_verifications SET status = 'expired', updated_at = $3
        WHERE phone_number_hash = $1 AND purpose = $2 AND ${pendingRow()} AND expires_at <= $3
        RETURNING id, channel, expires_at`,
      [target.phoneHash, purpose, now],
    );
    // The expiry sweep (expiry-sweeper.ts) records most expiries; whichever of the two flips the
    // row reports it, dated when the code expired.
    for (const row of expired) {
      const status = lifecycleStatus('expired', row.channel);
      if (!status) continue;
      this.publish(
        { status, occurredAt: row.expires_at, verificationId: row.id, channel: row.channel },
        target,
        purpose,
      );
    }
    return expired.length;
  }

  async check(input: CheckVerificationInput): Promise<VerificationResponseDto> {
    const phone = this.phones.normalize(input.phoneNumber, input.countryCode);
    const phoneHash = this.hasher.hash('phone', phone.e164);
    const guess = { e164: phone.e164, ip: input.clientIp };
    // Every code check passes here (verify-code and the auth endpoints), so does the client's
    // limit, unless the route's guard applied it to this very number already.
    if (input.limitsAppliedTo !== phone.e164) await this.limits.consumeCodeCheck(guess);
    const now = this.clock.now();
    const checked = { phoneHash, purpose: input.purpose, country: phone.country, now };

    // Count the attempt before comparing, atomically: concurrent guesses cannot share a slot.
    const counted = await this.attemptCounts.add({ phoneHash, purpose: input.purpose, now });
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
      await this.giveBackAttempt(counted.id);
      throw error;
    }

    const correct = await this.compare(counted, phone.e164, input.code).catch((error: unknown) => {
      throw this.reported(error, { ...checked, verificationId: counted.id });
    });
    if (correct) {
      const token = `vt_${this.random.token(32)}`;
      const approved = await this.approvals.add({
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
      return { ...this.resource(approved, phone.e164, true), verification_token: token };
    }

    if (counted.attempts >= counted.max_attempts) {
      await this.fail(counted.id, now);
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
    return this.resource(counted, phone.e164, false);
  }

  /**
   * A code check refused because its verification's attempt budget is spent (here or at Twilio)
   * is a security incident: the budget exists against guessing. Returns the error to throw.
   */
  private reported(
    error: unknown,
    check: {
      phoneHash: string;
      purpose: Purpose;
      country: string;
      now: Date;
      verificationId?: string;
    },
  ): unknown {
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
  async consumeToken(token: string, e164: string, purpose: Purpose): Promise<boolean> {
    const now = this.clock.now();
    const consumed = await this.sql.rows<{ id: string }>(
      `UPDATE sms_verifications SET token_consumed_at = $4, updated_at = $4
        WHERE token_hash = $1 AND phone_number_hash = $2 AND purpose = $3
          AND token_consumed_at IS NULL AND token_expires_at > $4
        RETURNING id`,
      [
        this.hasher.hash('verification-token', token),
        this.hasher.hash('phone', e164),
        purpose,
        now,
      ],
    );
    return consumed.length === 1;
  }

  private async createLive(
    target: Target,
    purpose: Purpose,
    locale: Locale,
    now: Date,
  ): Promise<{ row: VerificationRow } | undefined> {
    const { phone, phoneHash, prefixHash, clientNetworkHash, suppressedBy } = target;
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
    const expiresAt = new Date(now.getTime() + this.sms.expiryMinutes[purpose] * 60_000);

    // The partial unique index admits one pending row per phone + purpose; a concurrent send loses
    // here and becomes a resend of the winner's verification.
    const [row] = await this.sql.rows<VerificationRow>(
      `INSERT INTO sms_verifications
         (id, phone_number_hash, purpose, twilio_sid, status, channel, code_hash, locale, country_code,
          max_attempts, send_count, last_sent_at, expires_at, created_at, updated_at, phone_prefix_hash,
          client_network_hash)
       VALUES ($1, $2, $3, $4, 'pending', $5, $6, $7, $8, $9, 1, $10, $11, $10, $10, $12, $13)
       ON CONFLICT (phone_number_hash, purpose) WHERE status = 'pending' DO NOTHING
       RETURNING ${RETURNING}`,
      [
        id,
        phoneHash,
        purpose,
        provider?.ownsCodes ? null : this.newSid(),
        channel,
        code ? this.hasher.hash('code', code) : null,
        locale,
        phone.country,
        this.sms.maxAttempts,
        now,
        expiresAt,
        prefixHash,
        clientNetworkHash,
      ],
    );
    if (!row) return undefined;
    if (channel === 'suppressed') await this.suppress(target, purpose, row, now);
    if (channel === 'test-number') this.publishTestSend(target, purpose, row, now);
    if (!provider) return { row };

    let receipt: SendCodeReceipt;
    try {
      receipt = await this.deliver(provider, target, purpose, locale, code, row, now);
    } catch (error) {
      // Nothing was sent: the row must not look like a live verification.
      await this.fail(id, now);
      throw error;
    }
    const sids: ProviderSids = {
      id,
      verificationSid: receipt.kind === 'verification' ? receipt.sid : null,
      messageSid: receipt.kind === 'message' ? receipt.sid : null,
    };
    // The code is on its way and the row already checks it: a failure to note the sids must not
    // turn the answer into an error (the client would ask again and get a second SMS).
    await this.sidWrites.add(sids).catch((error: unknown) => {
      this.logger.warn({ err: error, verificationId: id }, 'could not record the provider sids');
    });
    if (receipt.reusedPending)
      await this.endOtherPurposesSharing(receipt.sid, target, purpose, now);
    return { row: { ...row, twilio_sid: row.twilio_sid ?? sids.verificationSid } };
  }

  /**
   * One attempt on each live verification named, if it has attempts left: the counted row, or
   * undefined. One statement for a batch of code checks, none two for the same verification (see
   * StatementBatcher). Rows are locked in id order, so concurrent batches (other instances') queue
   * behind each other instead of deadlocking.
   */
  private async countAttempts(batch: AttemptToCount[]): Promise<(VerificationRow | undefined)[]> {
    const counted = await this.sql.prepared<VerificationRow & { position: string }>(
      'verification-count-attempts',
      `WITH attempt AS (
         SELECT * FROM unnest($1::varchar[], $2::sms_purpose[], $3::timestamptz[])
           WITH ORDINALITY AS attempt (phone_number_hash, purpose, at, position)
       ), live AS (
         SELECT verification.id AS verification_id, attempt.at, attempt.position
           FROM sms_verifications AS verification
           JOIN attempt USING (phone_number_hash, purpose)
          WHERE ${pendingRow('verification')} AND verification.expires_at > attempt.at
            AND verification.attempts < verification.max_attempts
          ORDER BY verification.id
            FOR UPDATE OF verification
       )
       UPDATE sms_verifications SET attempts = attempts + 1, updated_at = live.at
         FROM live
        WHERE id = live.verification_id
       RETURNING live.position, ${RETURNING}`,
      [
        batch.map((attempt) => attempt.phoneHash),
        batch.map((attempt) => attempt.purpose),
        batch.map((attempt) => attempt.now),
      ],
    );
    return inOrder(batch, counted);
  }

  /**
   * Approves each verification still pending, with its new token: the approved row, or undefined
   * when another request approved (or ended) it first. A batch per statement, as countAttempts.
   */
  private async approve(batch: Approval[]): Promise<(VerificationRow | undefined)[]> {
    const approved = await this.sql.prepared<VerificationRow & { position: string }>(
      'verification-approve',
      `WITH approval AS (
         SELECT * FROM unnest($1::uuid[], $2::timestamptz[], $3::varchar[], $4::timestamptz[])
           WITH ORDINALITY AS approval (verification_id, at, new_token_hash, new_token_expires_at, position)
       ), ready AS (
         SELECT approval.*
           FROM sms_verifications AS verification
           JOIN approval ON verification.id = approval.verification_id
          WHERE ${pendingRow('verification')}
          ORDER BY verification.id
            FOR UPDATE OF verification
       )
       UPDATE sms_verifications
          SET status = 'verified', verified_at = ready.at, updated_at = ready.at,
              token_hash = ready.new_token_hash, token_expires_at = ready.new_token_expires_at
         FROM ready
        WHERE id = ready.verification_id
       RETURNING ready.position, ${RETURNING}`,
      [
        batch.map((approval) => approval.id),
        batch.map((approval) => approval.now),
        batch.map((approval) => approval.tokenHash),
        batch.map((approval) => approval.tokenExpiresAt),
      ],
    );
    return inOrder(batch, approved);
  }

  /** Every first send's sids, a batch of sends per statement (see WriteBatcher). */
  private async writeSids(batch: ProviderSids[]): Promise<void> {
    await this.sql.rows(
      `UPDATE sms_verifications AS verification
          SET twilio_sid = COALESCE(verification.twilio_sid, sent.verification_sid),
              provider_sid = sent.verification_sid,
              message_sid = sent.message_sid
         FROM unnest($1::uuid[], $2::varchar[], $3::varchar[])
           AS sent (id, verification_sid, message_sid)
        WHERE verification.id = sent.id`,
      [
        batch.map((sids) => sids.id),
        batch.map((sids) => sids.verificationSid),
        batch.map((sids) => sids.messageSid),
      ],
    );
  }

  private async resend(
    target: Target,
    purpose: Purpose,
    now: Date,
  ): Promise<VerificationResponseDto> {
    const { phone, phoneHash } = target;
    // Reserve a send slot atomically; the attempt budget and the expiry stay as they were.
    const [reserved] = await this.sql.rows<VerificationRow>(
      `UPDATE sms_verifications SET send_count = send_count + 1, last_sent_at = $4, updated_at = $4
        WHERE phone_number_hash = $1 AND purpose = $2 AND ${pendingRow()} AND expires_at > $4
          AND send_count < $3
        RETURNING ${RETURNING}`,
      [phoneHash, purpose, this.sms.maxSendsPerVerification, now],
    );
    if (!reserved) {
      const [live] = await this.sql.rows<VerificationRow>(
        `SELECT ${RETURNING} FROM sms_verifications
          WHERE phone_number_hash = $1 AND purpose = $2 AND ${pendingRow()} AND expires_at > $3`,
        [phoneHash, purpose, now],
      );
      if (live) {
        const secondsLeft = Math.ceil((live.expires_at.getTime() - now.getTime()) / 1000);
        throw new VerificationResendLimitError(Math.max(1, secondsLeft));
      }
      // It was approved or expired in the meantime: a send now starts a new verification.
      throw new VerificationEndedError();
    }
    if (reserved.channel === 'test-number') {
      this.publishTestSend(target, purpose, reserved, now);
      return this.resource(reserved, phone.e164, false);
    }
    // Nothing goes to a number that may not get this code now, whatever went before: one whose
    // delivery failed permanently since, one no longer for this purpose, or a stranger's under a
    // pumping hold or past a full send cap (a code delivered before stays valid).
    if (target.suppressedBy !== undefined) {
      await this.suppress(target, purpose, reserved, now);
      return this.resource(reserved, phone.e164, false);
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
      const receipt = await this.deliver(
        provider,
        target,
        purpose,
        reserved.locale,
        code,
        reserved,
        now,
      );
      const [updated] = await this.sql.rows<VerificationRow>(
        `UPDATE sms_verifications
            SET code_hash = CASE WHEN $6 THEN $2 ELSE COALESCE($2, code_hash) END,
                message_sid = COALESCE($3, message_sid),
                provider_sid = COALESCE($4, provider_sid),
                channel = $5,
                attempts = CASE WHEN $6 THEN 0 ELSE attempts END,
                expires_at = CASE WHEN $6 THEN $7 ELSE expires_at END
          WHERE id = $1 RETURNING ${RETURNING}`,
        [
          reserved.id,
          code ? this.hasher.hash('code', code) : null,
          receipt.kind === 'message' ? receipt.sid : null,
          receipt.kind === 'verification' ? receipt.sid : null,
          provider.name,
          startsDelivering,
          reserved.expires_at,
        ],
      );
      if (receipt.reusedPending) {
        await this.endOtherPurposesSharing(receipt.sid, target, purpose, now);
      }
      return this.resource(updated ?? reserved, phone.e164, false);
    } catch (error) {
      // Give the send slot back; the previous code stays valid.
      await this.sql.rows(
        `UPDATE sms_verifications SET send_count = send_count - 1 WHERE id = $1 AND send_count > 1`,
        [reserved.id],
      );
      throw error;
    }
  }

  /** One provider call, reported as a `sent` or `failed` event. */
  private async deliver(
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

  private publish(event: SmsEvent, target: Target, purpose: Purpose): void {
    this.events.publish({
      phoneHash: target.phoneHash,
      purpose,
      country: target.phone.country,
      ...event,
    });
  }

  /** A test number's "send": nothing goes out, and it must not count as an SMS sent. */
  private publishTestSend(target: Target, purpose: Purpose, row: VerificationRow, now: Date) {
    this.publish(
      { status: 'test_sent', occurredAt: now, verificationId: row.id, channel: 'test-number' },
      target,
      purpose,
    );
  }

  /**
   * Nothing is delivered; the answer and its timing look like a delivery. Reported as `held` when
   * a pumping hold (layer `pumping-prefix`, `pumping-country`) or a full send cap (`country-cap`,
   * `global-cap`) is the reason (operators count those), else as `suppressed`.
   */
  private async suppress(
    target: Target,
    purpose: Purpose,
    row: VerificationRow,
    now: Date,
  ): Promise<void> {
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

  private async compare(row: VerificationRow, e164: string, code: string): Promise<boolean> {
    if (row.code_hash !== null) {
      // A suppressed code would have been checked at Twilio (Verify): take as long.
      if (row.channel === 'suppressed') await this.checkLatency.imitate();
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
      this.checkLatency.record(performance.now() - started);
      return outcome === 'approved';
    } catch (error) {
      const code = error instanceof ProductError ? error.code : undefined;
      // Twilio no longer has it pending (expired there, or a concurrent check approved it, in
      // which case that request owns the approval): this attempt proves nothing.
      if (code === 'VERIFICATION_NOT_FOUND') throw new VerificationNotFoundError();
      if (code === 'VERIFICATION_ATTEMPTS_EXCEEDED') {
        await this.fail(row.id, this.clock.now());
        throw new VerificationAttemptsExceededError();
      }
      // The provider failed: this attempt tested nothing, so it is given back.
      await this.giveBackAttempt(row.id);
      throw error;
    }
  }

  private async giveBackAttempt(id: string): Promise<void> {
    await this.sql.rows(
      `UPDATE sms_verifications SET attempts = attempts - 1 WHERE id = $1 AND attempts > 0`,
      [id],
    );
  }

  private async explainUncountedAttempt(
    phoneHash: string,
    purpose: Purpose,
    now: Date,
  ): Promise<ProductError> {
    const [live] = await this.sql.rows<VerificationRow>(
      `SELECT ${RETURNING} FROM sms_verifications
        WHERE phone_number_hash = $1 AND purpose = $2 AND ${pendingRow()}`,
      [phoneHash, purpose],
    );
    // Out of attempts. The status is left alone: a check still in flight may be the right code,
    // and the last counted wrong attempt marks the verification failed itself.
    if (live && live.expires_at > now && live.attempts >= live.max_attempts) {
      return new VerificationAttemptsExceededError();
    }
    return new VerificationNotFoundError();
  }

  private async fail(id: string, now: Date): Promise<void> {
    await this.sql.rows(
      `UPDATE sms_verifications SET status = 'failed', updated_at = $2 WHERE id = $1 AND ${pendingRow()}`,
      [id, now],
    );
  }

  /**
   * Twilio Verify keeps one pending verification per number, whatever our purpose: a send for this
   * purpose while another purpose's was pending had Twilio send that one's code again. Only the
   * purpose it was sent for last may use it; the others end (as expired), so a code asked for
   * one purpose never approves another. Rows whose sid is not recorded yet are among them.
   */
  private async endOtherPurposesSharing(
    providerSid: string,
    target: Target,
    purpose: Purpose,
    now: Date,
  ): Promise<void> {
    const ended = await this.sql.rows<{ id: string; channel: string; purpose: Purpose }>(
      `UPDATE sms_verifications SET status = 'expired', updated_at = $4
        WHERE phone_number_hash = $1 AND purpose <> $2 AND ${pendingRow()}
          AND channel = 'twilio-verify' AND (provider_sid = $3 OR provider_sid IS NULL)
        RETURNING id, channel, purpose`,
      [target.phoneHash, purpose, providerSid, now],
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

  /**
   * A sid in Twilio's shape ("VE" + 32 hex) for a verification we answer ourselves: random, so it
   * tells nothing, not even when it was made (Twilio's own sids are random too).
   */
  private newSid(): string {
    return `VE${this.random.hex(16)}`;
  }

  /** The sid of a row whose sid was never recorded: stable, and as random-looking as newSid(). */
  private stableSid(id: string): string {
    return `VE${this.hasher.hash('verification-sid', id).slice(0, 32)}`;
  }

  private resource(row: VerificationRow, e164: string, approved: boolean): VerificationResponseDto {
    return {
      account_sid: this.twilio.accountSid ?? null,
      sid: row.twilio_sid ?? this.stableSid(row.id),
      service_sid: this.twilio.verifyServiceSid ?? this.twilio.messagingServiceSid ?? null,
      to: e164,
      channel: 'sms',
      status: approved ? 'approved' : 'pending',
      valid: approved,
      date_created: twilioDate(row.created_at),
      date_updated: twilioDate(row.updated_at),
    };
  }
}

const TYPICAL_TWILIO_LATENCY_MS = 150;

/** ISO 8601 in whole seconds, as Twilio writes its dates ("2024-01-01T00:00:00Z"). */
function twilioDate(date: Date): string {
  return date.toISOString().replace(/\.\d{3}Z$/, 'Z');
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
