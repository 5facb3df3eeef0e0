import { ProductError } from '../common/errors/product-error';

/**
 * One answer for every layer (docs/PRODUCT.md#errors): which layer refused stays in the logs and
 * metrics, so the response says nothing about the number or the account behind it.
 *
 * RateLimit-* headers come only with a refusal by the client's own quota (`clientQuota`: a
 * layer keyed on the client's address), like on accepted requests. A layer keyed on the number, its range, its country or the service gets
 * Retry-After alone: its limit would name the layer that refused, and with it what others asked
 * for the number (a per-purpose limit of 3 against a per-phone one of 5).
 */
export class RateLimitedError extends ProductError {
  constructor(
    readonly layer: string,
    limit: number,
    retryAfterSeconds: number,
    clientQuota = false,
  ) {
    super('RATE_LIMITED', 'Rate limit exceeded. Please try again later.', 'rate_limited', {
      retryAfterSeconds,
      headers: clientQuota
        ? {
            'RateLimit-Limit': String(limit),
            'RateLimit-Remaining': '0',
            'RateLimit-Reset': String(retryAfterSeconds),
          }
        : undefined,
    });
  }
}

/** The limit store (Redis) cannot be reached: sends and checks fail closed. */
export class RateLimitUnavailableError extends ProductError {
  constructor(cause: unknown) {
    super(
      'RATE_LIMIT_UNAVAILABLE',
      'The service is temporarily unavailable. Please try again shortly.',
      'unavailable',
      { retryAfterSeconds: 5, cause },
    );
  }
}
