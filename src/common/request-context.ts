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
}

export const requestContext = new AsyncLocalStorage<RequestContext>();
