/**
 * How an error should be understood by a client. The exception filter maps each kind to an HTTP
 * status; services never choose HTTP statuses themselves.
 */
export type ErrorKind =
  | 'invalid_input'
  | 'unauthorized'
  | 'forbidden'
  | 'not_found'
  | 'conflict'
  | 'rate_limited'
  | 'unavailable';

export interface ProductErrorOptions {
  /** Seconds after which the same request may succeed (rate limits, outages). */
  retryAfterSeconds?: number;
  /** Extra headers the response must carry (e.g. RateLimit-*). */
  headers?: Record<string, string>;
  /** Safe, client-facing details, such as which fields failed validation. */
  details?: string[];
  cause?: unknown;
}

/** The product's own error: a stable machine code, a human message and a kind. */
export class ProductError extends Error {
  readonly retryAfterSeconds?: number;
  readonly headers?: Record<string, string>;
  readonly details?: string[];

  constructor(
    readonly code: string,
    message: string,
    readonly kind: ErrorKind,
    options: ProductErrorOptions = {},
  ) {
    // A client error is answered, never investigated: nobody reads its stack, and capturing one
    // cost 7 % of the CPU of a refused send. Outages (503) keep theirs.
    const stackTraceLimit = Error.stackTraceLimit;
    if (kind !== 'unavailable') Error.stackTraceLimit = 0;
    super(message, { cause: options.cause });
    Error.stackTraceLimit = stackTraceLimit;
    this.name = new.target.name;
    this.retryAfterSeconds = options.retryAfterSeconds;
    this.headers = options.headers;
    this.details = options.details;
  }
}

export class RequestValidationError extends ProductError {
  constructor(details: string[]) {
    super('VALIDATION_FAILED', details.join('; ') || 'The request is invalid.', 'invalid_input', {
      details,
    });
  }
}

export class ServiceUnavailableError extends ProductError {
  constructor(
    message = 'The service is temporarily unavailable. Please try again shortly.',
    retryAfterSeconds = 5,
    cause?: unknown,
  ) {
    super('SERVICE_UNAVAILABLE', message, 'unavailable', { retryAfterSeconds, cause });
  }
}
