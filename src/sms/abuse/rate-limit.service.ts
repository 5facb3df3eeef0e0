import { Injectable, Logger } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { Clock } from '../../common/clock';
import { dependencyFailureReason } from '../../common/errors/dependency-failure';
import { OutageLog } from '../../common/errors/outage-log';
import { Hasher } from '../../common/hasher';
import { SmsEvent, SmsEvents } from '../../common/events/sms-events';
import { Configuration } from '../../config/configuration';
import { Purpose } from '../../common/purpose';
import {
  GuessSubject,
  CLIENT_LAYERS,
  PasswordLimits,
  SEND_CAP_LAYERS,
  SendCapLayer,
  codeCheckRules,
  codeGuessRules,
  passwordCeilingKey,
  passwordPhoneKey,
  passwordRules,
  sendRules,
  sparedSendRules,
  verifyPhoneKey,
} from './policies';
import { SmsLimitsConfig } from './abuse.config';
import { KnownRefusals } from './known-refusals';
import { RateLimitUnavailableError, RateLimitedError } from '../../rate-limit/rate-limit.errors';
import {
  ConsumeResult,
  LimitRule,
  RateLimitStore,
  RuleState,
  WindowRule,
} from '../../rate-limit/store/rate-limit-store';

export interface SendAttempt {
  /** HMACs of the number and of its range (E.164 minus its last 4 digits). */
  phoneHash: string;
  prefixHash: string;
  country: string;
  purpose: Purpose;
  /** The client's address group (Hasher.hashClient). */
  clientHash: string;
}

/** A code check or password attempt: the number it names and the client it came from, hashed. */
export interface GuessAttempt {
  phoneHash: string;
  clientHash: string;
}

/** Who a refusal is reported about: hashes only. */
type Subject = Pick<SmsEvent, 'phoneHash' | 'purpose' | 'country'>;

type Rejection = NonNullable<ConsumeResult['rejected']>;

/**
 * What a client may see about its own quota: the tightest of the layers keyed on the client alone
 * (CLIENT_LAYERS). A layer keyed on the number, its range, its country or the service counts what
 * everybody asked for them: its remaining count would tell a client that someone else is asking
 * codes for a number (ask for the number and for a fresh one, compare).
 */
export interface QuotaHeaders {
  'RateLimit-Limit': string;
  'RateLimit-Remaining': string;
  'RateLimit-Reset': string;
}

export type { SendCapLayer };

function sendCapOf(layer: string): SendCapLayer | undefined {
  return (SEND_CAP_LAYERS as readonly string[]).includes(layer)
    ? (layer as SendCapLayer)
    : undefined;
}

/** A send every client- and number-keyed layer allowed. */
export interface SendAllowance {
  headers: QuotaHeaders | undefined;
  /** The caps that were full, in rule order; the send was counted by the others only. */
  fullCaps: SendCapLayer[];
}

/**
 * Applies the policy table (policies.ts) through the configured store. A store failure fails
 * closed: no SMS goes out while limits cannot be counted.
 */
@Injectable()
export class RateLimitService {
  private readonly logger = new Logger('RateLimit');
  private readonly config: SmsLimitsConfig;
  private readonly sendRefusals = new KnownRefusals();
  private readonly storeOutages: OutageLog;

  constructor(
    private readonly store: RateLimitStore,
    private readonly hasher: Hasher,
    private readonly clock: Clock,
    private readonly events: SmsEvents,
    config: ConfigService<Configuration, true>,
  ) {
    this.config = config.get('smsLimits', { infer: true });
    this.storeOutages = new OutageLog(clock);
  }

  /**
   * `httpRule`: the route's generic per-IP rule, checked in the same round trip; last, so a
   * request that an SMS layer refuses reports that layer as before.
   *
   * A full country or global cap refuses nothing by itself: the send is counted again by the
   * other layers (one more round trip, or none when this instance already knows the cap is full),
   * and any of those still answers 429. Only which caps were full goes back to the caller, and it
   * is the same for every number of the country: the answer cannot tell numbers apart.
   */
  async consumeSend(attempt: SendAttempt, httpRule?: WindowRule): Promise<SendAllowance> {
    const { rules, subject } = this.sendRules(attempt);
    if (httpRule) rules.push(httpRule);
    const fullCaps: SendCapLayer[] = [];
    let remaining = rules;
    for (;;) {
      const outcome = await this.tryConsume(remaining, this.sendRefusals);
      if ('states' in outcome) return { headers: quotaHeaders(outcome.states), fullCaps };
      const cap = sendCapOf(outcome.rejected.layer);
      if (!cap) throw this.refuse(outcome.rejected, subject);
      fullCaps.push(cap);
      remaining = remaining.filter((rule) => rule.layer !== cap);
    }
  }

  /**
   * Counts a send to a number with history past the full caps (`fullCaps`, from consumeSend) on a
   * second window of each, as large as the cap: real sends stay below twice the cap per window.
   * False when that is spent too; the send must then deliver nothing (a 429 now would be for
   * numbers with history only, and tell them apart).
   */
  async consumeSparedSend(country: string, fullCaps: readonly SendCapLayer[]): Promise<boolean> {
    const outcome = await this.tryConsume(sparedSendRules(country, fullCaps, this.config));
    return 'states' in outcome;
  }

  /**
   * The refusal consumeSend would answer from memory for this attempt, published like any other,
   * or undefined when the store must be asked. Lets the HTTP layer answer a number under attack
   * before the request reaches the framework's pipeline. A full cap is no refusal (consumeSend).
   */
  knownSendRefusal(attempt: SendAttempt): RateLimitedError | undefined {
    const { rules, subject } = this.sendRules(attempt);
    const refusable = rules.filter((rule) => !sendCapOf(rule.layer));
    const known = this.sendRefusals.find(refusable, this.clock.now().getTime());
    return known && this.refuse(known, subject);
  }

  /**
   * Any code check, counted against the client's own budget whatever number it names. `httpRule`
   * as for consumeSend.
   */
  async consumeCodeCheck(attempt: GuessAttempt, httpRule?: WindowRule): Promise<void> {
    const rules = codeCheckRules(attempt.clientHash, this.config);
    if (httpRule) rules.push(httpRule);
    await this.consume(rules, { phoneHash: attempt.phoneHash });
  }

  /**
   * A code check that can be a guess: one whose attempt a live verification of the number has
   * counted. Checks that find no live verification prove nothing and spend none of the phone's
   * budgets, which are per phone and client, under a per-phone ceiling (policies.ts).
   */
  async consumeCodeGuess(attempt: GuessAttempt): Promise<void> {
    const subject = this.guessSubject(attempt);
    await this.consume(codeGuessRules(subject, this.config), {
      phoneHash: subject.phoneHash,
    });
  }

  /**
   * A right code clears this client's wrong-code count for the phone (docs/SECURITY.md rule 3).
   * The per-phone ceiling runs out with its window: other clients' guesses were not the owner's.
   */
  async clearCodeGuesses(attempt: GuessAttempt): Promise<void> {
    try {
      await this.store.reset([verifyPhoneKey(this.guessSubject(attempt))]);
    } catch (error) {
      // The count then simply runs out with its window; the user already proved the code.
      this.storeFailed(error, 'could not clear the wrong-code count');
    }
  }

  /**
   * A password attempt for this phone from this client, counted before the password is checked,
   * for numbers with and without an account alike (a 429 only for accounts would reveal them).
   */
  async consumePassword(attempt: GuessAttempt, limits: PasswordLimits): Promise<void> {
    const subject = this.guessSubject(attempt);
    await this.consume(passwordRules(subject, limits), {
      phoneHash: subject.phoneHash,
    });
  }

  /**
   * A right password clears this client's wrong-password count for the phone. A new password
   * (`new-password`) also clears the per-phone ceiling: guesses at the old one tell nothing about
   * it, and an owner whose number was shut out by many networks gets back in this way.
   */
  async clearPassword(attempt: GuessAttempt, scope: 'client' | 'new-password'): Promise<void> {
    const subject = this.guessSubject(attempt);
    const keys = [passwordPhoneKey(subject)];
    if (scope === 'new-password') keys.push(passwordCeilingKey(subject.phoneHash));
    try {
      await this.store.reset(keys);
    } catch (error) {
      this.storeFailed(error, 'could not clear the wrong-password count');
    }
  }

  /** The guess attempt of a number and a client address, for callers that have no SmsRequest. */
  guessAttempt(e164: string, ip: string): GuessAttempt {
    return { phoneHash: this.hasher.hash('phone', e164), clientHash: this.hasher.hashClient(ip) };
  }

  private guessSubject({ phoneHash, clientHash }: GuessAttempt): GuessSubject {
    return { phoneHash, clientHash };
  }

  /**
   * `refusals`: refusals to remember and answer from memory until they end (sends only: their
   * counters are never cleared early; see KnownRefusals).
   */
  private async consume(
    rules: LimitRule[],
    subject: Subject,
    refusals?: KnownRefusals,
  ): Promise<QuotaHeaders | undefined> {
    const outcome = await this.tryConsume(rules, refusals);
    if (!('states' in outcome)) throw this.refuse(outcome.rejected, subject);
    return quotaHeaders(outcome.states);
  }

  /** The rules' states once counted, or the first that refused (counting nothing); unreported. */
  private async tryConsume(
    rules: LimitRule[],
    refusals?: KnownRefusals,
  ): Promise<{ states: RuleState[] } | { rejected: Rejection }> {
    const nowMs = this.clock.now().getTime();
    const known = refusals?.find(rules, nowMs);
    if (known) return { rejected: known };
    const result = await this.consumeInStore(rules, nowMs);
    if (!result.allowed && result.rejected) {
      refusals?.remember(rules, result.rejected, nowMs);
      return { rejected: result.rejected };
    }
    return { states: result.states };
  }

  /** Reports the refusal (analytics, metrics) and returns the error that answers it. */
  private refuse({ layer, limit, retryAfterMs }: Rejection, subject: Subject): RateLimitedError {
    this.events.publish({
      ...subject,
      status: 'rate_limited',
      occurredAt: this.clock.now(),
      layer,
    });
    return new RateLimitedError(
      layer,
      limit,
      Math.max(1, Math.ceil(retryAfterMs / 1000)),
      CLIENT_LAYERS.has(layer),
    );
  }

  private sendRules(attempt: SendAttempt): { rules: LimitRule[]; subject: Subject } {
    const { phoneHash, purpose, country } = attempt;
    const rules = sendRules(
      {
        phoneHash,
        prefixHash: attempt.prefixHash,
        country,
        purpose,
        ipHash: attempt.clientHash,
      },
      this.config,
    );
    return { rules, subject: { phoneHash, purpose, country } };
  }

  /** A store failure fails closed. */
  private async consumeInStore(rules: LimitRule[], nowMs: number): Promise<ConsumeResult> {
    let result: ConsumeResult;
    try {
      result = await this.store.consume(rules, nowMs);
    } catch (error) {
      this.storeFailed(error, 'rate-limit store unavailable; failing closed');
      throw new RateLimitUnavailableError(error);
    }
    this.storeAnswered();
    return result;
  }

  /**
   * While the store is down every request that needs it fails here, and a flood during an
   * outage would otherwise be a flood of stack traces. Per cause: the first failure with its
   * stack, then one line per interval with the count since; storeAnswered() logs the end.
   */
  private storeFailed(error: unknown, message: string): void {
    const cause =
      dependencyFailureReason(error) ?? String((error as { name?: unknown } | null)?.name);
    const { log, first, unlogged } = this.storeOutages.record(cause);
    if (!log) return;
    const fields = { errorCode: cause, store: this.store.kind };
    if (first) {
      this.logger.error({ ...fields, err: error }, message);
      return;
    }
    this.logger.warn(
      { ...fields, repeatsSinceLastLine: unlogged },
      'rate-limit store still unavailable',
    );
  }

  /** The store answered: the end of any outage under way, logged once. */
  private storeAnswered(): void {
    const ended = this.storeOutages.end();
    if (ended.length === 0) return;
    const startedAt = Math.min(...ended.map((outage) => outage.startedAt.getTime()));
    this.logger.log(
      {
        store: this.store.kind,
        causes: ended.map((outage) => outage.cause),
        failures: ended.reduce((sum, outage) => sum + outage.occurrences, 0),
        unavailableForSeconds: Math.round((this.clock.now().getTime() - startedAt) / 1000),
      },
      'rate-limit store reachable again',
    );
  }
}

/**
 * What a client may see about its own quota (QuotaHeaders): the tightest of the layers keyed on
 * the client alone. Every policy a route answers from has one (policies.spec.ts); a code guess's
 * limits (codeGuessRules) are counted after the route's and report nothing.
 */
function quotaHeaders(states: RuleState[]): QuotaHeaders | undefined {
  const own = states.filter((candidate) => CLIENT_LAYERS.has(candidate.layer));
  if (own.length === 0) return undefined;
  const state = tightest(own);
  return {
    'RateLimit-Limit': String(state.limit),
    'RateLimit-Remaining': String(state.remaining),
    'RateLimit-Reset': String(Math.ceil(state.resetMs / 1000)),
  };
}

function tightest(states: RuleState[]): RuleState {
  return states.reduce((best, state) => (state.remaining < best.remaining ? state : best));
}
