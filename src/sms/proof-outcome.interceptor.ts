import { CallHandler, ExecutionContext, Injectable, NestInterceptor } from '@nestjs/common';
import { Observable, tap } from 'rxjs';
import { SmsEvent, SmsEvents } from '../common/events/sms-events';
import { ProductError } from '../common/errors/product-error';
import { requestContext } from '../common/request-context';

/**
 * An SMS proof (a code) presented to an auth endpoint is accepted before the endpoint has decided
 * its answer: login by SMS still refuses a number without an account (a test number) or with
 * two-factor login, registration a number taken meanwhile. The proof's `verified` event therefore
 * waits here for the answer: a success publishes it, an error publishes a `refused` event (layer
 * `auth`, the answer's error code) instead, so analytics and metrics record what the client was
 * told.
 */
@Injectable()
export class ProofOutcomeInterceptor implements NestInterceptor {
  constructor(private readonly events: SmsEvents) {}

  intercept(_context: ExecutionContext, next: CallHandler): Observable<unknown> {
    const context = requestContext.getStore();
    if (!context) return next.handle();
    const pending: SmsEvent[] = [];
    context.proofOutcomes = pending;
    let settled = false;
    const settle = (error?: unknown) => {
      if (settled) return;
      settled = true;
      context.proofOutcomes = undefined;
      for (const event of pending) {
        this.events.publish(error === undefined ? event : refusedAfterProof(event, error));
      }
    };
    return next
      .handle()
      .pipe(
        tap({ next: () => settle(), complete: () => settle(), error: (error) => settle(error) }),
      );
  }
}

/** Holds an accepted proof's event until the auth request's answer is known; false: no request. */
export function deferProofOutcome(event: SmsEvent): boolean {
  const pending = requestContext.getStore()?.proofOutcomes;
  if (!pending) return false;
  pending.push(event);
  return true;
}

function refusedAfterProof(event: SmsEvent, error: unknown): SmsEvent {
  return {
    ...event,
    status: 'refused',
    layer: 'auth',
    errorCode: error instanceof ProductError ? error.code : 'UNEXPECTED_ERROR',
  };
}
