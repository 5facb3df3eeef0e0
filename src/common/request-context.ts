import { AsyncLocalStorage } from 'node:async_hooks';
import type { SmsEvent } from './events/sms-events';

/** Per-request facts that analytics attach to the events a request produces. */
export interface RequestContext {
  requestId: string;
  ip: string;
  userAgent?: string;
  /**
   * Set for the requests whose time is recorded (request-timings.ts): their events wait for the
   * response and carry its time.
   */
  deferred?: { events: unknown[] };
  /**
   * Set on the auth routes (ProofOutcomeInterceptor): SMS proofs accepted while the request runs,
   * published once the answer is known.
   */
  proofOutcomes?: SmsEvent[];
  /** Facts one layer worked out for the layers after it (RequestSlot). */
  slots?: Map<RequestSlot<unknown>, unknown>;
}

export const requestContext = new AsyncLocalStorage<RequestContext>();

/**
 * One named fact about the current request, kept in its context for the layers after the one
 * that worked it out (a guard's parsed subject for the service, say), so no layer parses or
 * hashes it again and no side table keyed by request objects is needed. Outside a request
 * (a background job, a test calling a service) there is none.
 */
export class RequestSlot<T> {
  constructor(readonly name: string) {}

  get(): T | undefined {
    return requestContext.getStore()?.slots?.get(this) as T | undefined;
  }

  set(value: T): void {
    const context = requestContext.getStore();
    if (!context) return;
    (context.slots ??= new Map()).set(this, value);
  }

  /** The value, removed: for a fact that must be used once. */
  take(): T | undefined {
    const context = requestContext.getStore();
    const value = context?.slots?.get(this) as T | undefined;
    context?.slots?.delete(this);
    return value;
  }
}
