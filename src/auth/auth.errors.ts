import { ProductError } from '../common/errors/product-error';
import type { PasswordRule } from './password/password-policy';

/** Wrong phone or password, or no such account: one answer, so nothing is learned from it. */
export class InvalidCredentialsError extends ProductError {
  constructor() {
    super('INVALID_CREDENTIALS', 'Invalid credentials.', 'unauthorized');
  }
}

/** No access token, or one that is malformed, expired, of the wrong type or revoked. */
export class UnauthorizedError extends ProductError {
  constructor(reason: 'missing' | 'invalid') {
    super(
      'UNAUTHORIZED',
      reason === 'missing' ? 'Authentication required.' : 'Invalid or expired access token.',
      'unauthorized',
      {
        // RFC 6750 §3: say which scheme is expected, and why a presented token failed.
        headers: {
          'WWW-Authenticate':
            reason === 'missing'
              ? 'Bearer realm="api"'
              : 'Bearer realm="api", error="invalid_token"',
        },
      },
    );
  }
}

export class InvalidRefreshTokenError extends ProductError {
  constructor() {
    super('INVALID_REFRESH_TOKEN', 'Invalid or expired refresh token.', 'unauthorized');
  }
}

export class InvalidTwoFactorTokenError extends ProductError {
  constructor() {
    super(
      'INVALID_TWO_FACTOR_TOKEN',
      'Invalid or expired two-factor login. Log in with your password again.',
      'unauthorized',
    );
  }
}

const PASSWORD_RULE_MESSAGES: Record<PasswordRule, string> = {
  too_short: 'The password must have at least 8 characters.',
  too_long: 'The password must have at most 128 characters.',
  common: 'This password is too common. Choose a less predictable one; a passphrase works well.',
  repetitive: 'The password repeats the same few characters. Choose a less predictable one.',
  sequential: 'The password is a run of consecutive characters. Choose a less predictable one.',
  contains_phone_number: 'The password must not contain your phone number.',
};

/** A new password the policy refuses; `details` names the rule for the client. */
export class PasswordTooWeakError extends ProductError {
  constructor(readonly rule: PasswordRule) {
    super('PASSWORD_TOO_WEAK', PASSWORD_RULE_MESSAGES[rule], 'invalid_input', { details: [rule] });
  }
}

/**
 * Registration after a successful proof failed (the number got an account meanwhile). Only the
 * holder of the number can get this far, so the generic wording hides nothing from them.
 */
export class RegistrationFailedError extends ProductError {
  constructor() {
    super(
      'REGISTRATION_FAILED',
      'Registration could not be completed. Log in, or reset your password by SMS.',
      'invalid_input',
    );
  }
}

export class PhoneChangeFailedError extends ProductError {
  constructor() {
    super(
      'PHONE_CHANGE_FAILED',
      'The phone number could not be changed. Use a number that is not on another account.',
      'invalid_input',
    );
  }
}

export class SamePhoneNumberError extends ProductError {
  constructor() {
    super(
      'SAME_PHONE_NUMBER',
      'This is already the phone number of your account.',
      'invalid_input',
    );
  }
}

/**
 * A 2FA account logging in by SMS alone: that would skip the password its owner asked for.
 * Only someone who just proved the number sees this.
 */
export class PasswordLoginRequiredError extends ProductError {
  constructor() {
    super(
      'PASSWORD_LOGIN_REQUIRED',
      'This account uses two-factor login: log in with your password and an SMS code.',
      'forbidden',
    );
  }
}

/** NIST 800-63B §5.1.3.3: SMS is offered as a second factor only to an already verified number. */
export class PhoneNotVerifiedError extends ProductError {
  constructor() {
    super(
      'PHONE_NOT_VERIFIED',
      'Verify your phone number before turning on two-factor login.',
      'forbidden',
    );
  }
}
