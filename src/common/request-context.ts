import { AsyncLocalStorage } from 'node:async_hooks';

/** Per-request facts that analytics attach to the events a request produces. */
export interface RequestContext {
  requestId: string;
  ip: string;
  userAgent?: string;
  /** Set by the timing interceptor: events wait for the response time before being recorded. */
  deferred?: { events: unknown[] };
}

export const requestContext = new AsyncLocalStorage<RequestContext>();
