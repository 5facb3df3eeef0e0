import { ProductError } from '../common/errors/product-error';

/** The same answer for never sent, expired, used and unknown: nothing to learn from it. */
export class VerificationNotFoundError extends ProductError {
  constructor() {
    super('VERIFICATION_NOT_FOUND', 'Invalid or expired code. Request a new code.', 'not_found');
  }
}

export class VerificationAttemptsExceededError extends ProductError {
  constructor() {
    super(
      'VERIFICATION_ATTEMPTS_EXCEEDED',
      'Too many wrong codes. Request a new code.',
      'rate_limited',
      { retryAfterSeconds: 60 },
    );
  }
}

export class VerificationResendLimitError extends ProductError {
  constructor(retryAfterSeconds: number) {
    super(
      'VERIFICATION_SEND_LIMIT',
      'This code was sent too many times. Wait for it to expire, then request a new one.',
      'rate_limited',
      { retryAfterSeconds },
    );
  }
}

/** An auth proof (code or verification token) that does not hold, whatever the reason. */
export class InvalidProofError extends ProductError {
  constructor() {
    super('INVALID_CODE', 'Invalid or expired code.', 'unauthorized');
  }
}
