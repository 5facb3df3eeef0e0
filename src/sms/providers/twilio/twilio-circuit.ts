import { Logger } from '@nestjs/common';
import {
  BrokenCircuitError,
  CircuitBreakerPolicy,
  CircuitState,
  ConsecutiveBreaker,
  FailureReason,
  circuitBreaker,
  handleAll,
} from 'cockatiel';
import { TwilioCircuitConfig } from '../../sms.config';
import { isTwilioOutage, SmsProviderUnavailableError } from './twilio-errors';

/** Each Twilio API has its own circuit: they are separate hosts that fail separately. */
export type TwilioApi = 'twilio-verify' | 'twilio-messaging' | 'twilio-lookup';

/** A call that reached Twilio and got an answer: the result, or the error Twilio answered. */
type Answered<T> = { result: T } | { refusal: unknown };

/**
 * A circuit breaker around one Twilio API. After `failures` consecutive Twilio-side failures
 * (`isTwilioOutage`) it opens, and calls fail at once with SMS_PROVIDER_UNAVAILABLE and a
 * Retry-After of the time it stays open, without reaching Twilio. Once that time is up, the next
 * call is a probe (calls arriving meanwhile wait for it): any answer from Twilio closes the
 * circuit, another failure opens it again. Answers about the request (4xx, 429) show Twilio is up
 * and reset the count.
 *
 * Nothing here retries, on purpose. A send that timed out or lost its connection may still have
 * been carried out by Twilio, so sending again could deliver a second SMS; a repeated Verify check
 * could count twice against its five checks or meet a verification the first call approved.
 * The caller answers 503 and the client decides whether to try again.
 */
export class TwilioCircuit {
  private readonly logger = new Logger('TwilioCircuit');
  private readonly policy: CircuitBreakerPolicy;
  /**
   * When the circuit last opened, by Date.now(): cockatiel times the open state with Date.now()
   * and takes no clock, so the Clock port would drift from it under a fake clock.
   */
  private openedAt = 0;

  constructor(
    readonly api: TwilioApi,
    private readonly config: TwilioCircuitConfig,
  ) {
    this.policy = circuitBreaker(handleAll, {
      breaker: new ConsecutiveBreaker(config.failures),
      halfOpenAfter: config.halfOpenAfterMs,
    });
    this.policy.onBreak((reason) => {
      this.openedAt = Date.now();
      this.logger.warn(
        {
          api,
          consecutiveFailures: config.failures,
          openForMs: config.halfOpenAfterMs,
          lastFailure: describeFailure(reason),
        },
        `${api} circuit opened: Twilio calls fail fast until a probe succeeds`,
      );
    });
    this.policy.onReset(() => {
      this.logger.log({ api }, `${api} circuit closed: Twilio answers again`);
    });
  }

  /** Open or probing: calls do not flow normally. */
  get isOpen(): boolean {
    return this.policy.state !== CircuitState.Closed;
  }

  /** Runs one Twilio call through the circuit; Twilio's errors come out unchanged. */
  async run<T>(call: () => Promise<T>): Promise<T> {
    let answered: Answered<T>;
    try {
      answered = await this.policy.execute(async () => {
        try {
          return { result: await call() };
        } catch (error) {
          if (isTwilioOutage(error)) throw error;
          return { refusal: error };
        }
      });
    } catch (error) {
      if (error instanceof BrokenCircuitError) {
        throw new SmsProviderUnavailableError(error, this.secondsUntilProbe());
      }
      throw error;
    }
    if ('refusal' in answered) throw answered.refusal;
    return answered.result;
  }

  private secondsUntilProbe(): number {
    const remainingMs = this.openedAt + this.config.halfOpenAfterMs - Date.now();
    return Math.max(1, Math.ceil(remainingMs / 1000));
  }
}

/** For the log: status and Twilio code, or the network error code; never Twilio's message. */
function describeFailure(reason: FailureReason<unknown> | { isolated: true }): string {
  if (!('error' in reason)) return 'unknown';
  const { status, code, name } = reason.error as {
    status?: unknown;
    code?: unknown;
    name?: unknown;
  };
  if (typeof status === 'number') {
    return code === undefined ? `HTTP ${status}` : `HTTP ${status}, Twilio error ${String(code)}`;
  }
  if (typeof code === 'string') return code;
  return typeof name === 'string' ? name : 'unknown';
}
