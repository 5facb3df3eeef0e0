// The lint rule forbids three-level imports, but nothing shallower re-exports ProductError.
import { ProductError } from '../../../common/errors/product-error';
import { VerificationAttemptsExceededError, VerificationNotFoundError } from '../../sms.errors';
import type { ProviderFailure } from '../sms-provider';

/** How long a Twilio Verify verification lives; its send and check limits last that long. */
const VERIFICATION_LIFETIME_SECONDS = 600;
const RATE_LIMIT_RETRY_SECONDS = 60;
const OUTAGE_RETRY_SECONDS = 30;

/** Twilio error codes (https://www.twilio.com/docs/api/errors) this service reacts to. */
export const TwilioErrorCode = {
  AUTHENTICATION_FAILED: 20003,
  NOT_FOUND: 20404,
  TOO_MANY_REQUESTS: 20429,
  INVALID_TO_NUMBER: 21211,
  REGION_NOT_ENABLED: 21408,
  UNSUBSCRIBED_RECIPIENT: 21610,
  INVALID_PARAMETER: 60200,
  MAX_CHECK_ATTEMPTS: 60202,
  MAX_SEND_ATTEMPTS: 60203,
  SERVICE_RATE_LIMIT: 60207,
  RATE_LIMIT_BUCKET_MAXIMUM: 60210,
  CONCURRENT_REQUESTS_FOR_NUMBER: 60212,
  FRAUD_GUARD_BLOCKED: 60410,
  GEO_PERMISSIONS_BLOCKED: 60605,
} as const;

/** The request Twilio received was not acceptable for this destination (e.g. not E.164). */
export class SmsInvalidRequestError extends ProductError {
  constructor(cause?: unknown) {
    super(
      'SMS_INVALID_REQUEST',
      'This phone number or request cannot be used for verification codes.',
      'invalid_input',
      { cause },
    );
  }
}

export class SmsProviderRateLimitedError extends ProductError {
  constructor(retryAfterSeconds: number, cause?: unknown) {
    super(
      'SMS_PROVIDER_RATE_LIMITED',
      'Too many verification requests. Please try again later.',
      'rate_limited',
      { retryAfterSeconds, cause },
    );
  }
}

/**
 * Twilio refuses this destination (Fraud Guard, Geo Permissions, opted out, region disabled).
 * The reason stays out of the message: telling a caller that Fraud Guard flagged a prefix helps
 * the fraudster tune the next attempt.
 */
export class SmsDestinationRefusedError extends ProductError {
  constructor(cause?: unknown) {
    super(
      'SMS_DESTINATION_REFUSED',
      'This number cannot receive verification codes.',
      'invalid_input',
      { cause },
    );
  }
}

/**
 * Twilio could not be used: outage, timeout, network failure, our own misconfiguration, or an
 * open circuit (which knows when it will let a call through again).
 */
export class SmsProviderUnavailableError extends ProductError {
  constructor(cause?: unknown, retryAfterSeconds = OUTAGE_RETRY_SECONDS) {
    super(
      'SMS_PROVIDER_UNAVAILABLE',
      'SMS delivery is temporarily unavailable. Please try again shortly.',
      'unavailable',
      { retryAfterSeconds, cause },
    );
  }
}

/**
 * Twilio Verify knows no pending verification (never sent, expired, approved or spent). Extends
 * the product's own error so callers and clients see exactly what a locally checked code gives.
 */
export class ProviderVerificationNotFoundError extends VerificationNotFoundError {
  constructor(cause?: unknown) {
    super();
    this.cause = cause;
  }
}

/** Twilio Verify refused more checks (60202); its limit lasts for the verification's lifetime. */
export class ProviderVerificationAttemptsExceededError extends VerificationAttemptsExceededError {
  override readonly retryAfterSeconds = VERIFICATION_LIFETIME_SECONDS;

  constructor(cause?: unknown) {
    super();
    this.cause = cause;
  }
}

/**
 * What the SDK throws for an error response: `RestException` (legacy JSON) or
 * `TwilioServiceException` (RFC 9457). Both carry the HTTP status and Twilio's numeric code;
 * axios' network errors carry a string code instead.
 */
interface TwilioApiError extends Error {
  status: number;
  code?: number;
}

function isTwilioApiError(error: unknown): error is TwilioApiError {
  if (!(error instanceof Error)) return false;
  const { status, code } = error as { status?: unknown; code?: unknown };
  return typeof status === 'number' && (code === undefined || typeof code === 'number');
}

export function isTwilioErrorCode(error: unknown, code: number): boolean {
  return isTwilioApiError(error) && error.code === code;
}

/**
 * Network failures as axios reports them for the SDK: Node's errno codes (ECONNREFUSED,
 * ECONNRESET, ENOTFOUND, EAI_AGAIN …), its timeout codes (ECONNABORTED, ETIMEDOUT) and
 * ERR_NETWORK. Other ERR_* codes are about how the request was built, not about Twilio.
 */
const NETWORK_ERROR_CODE = /^(E(?!RR_)[A-Z_]+|ERR_NETWORK)$/;

/**
 * Whether an SDK error means Twilio itself is failing, which is what the circuit breaker counts:
 * 5xx, rejected credentials (401/20003: every call fails until someone fixes the configuration)
 * and network failures (timeouts, refused or reset connections, DNS). Any other Twilio answer,
 * 429 included, is about this request and shows Twilio is up; a bug in our code is not Twilio's.
 */
export function isTwilioOutage(error: unknown): boolean {
  if (error instanceof ProductError) return false;
  if (isTwilioApiError(error)) {
    return (
      error.status >= 500 ||
      error.status === 401 ||
      error.code === TwilioErrorCode.AUTHENTICATION_FAILED
    );
  }
  const code = error instanceof Error ? (error as { code?: unknown }).code : undefined;
  return typeof code === 'string' && NETWORK_ERROR_CODE.test(code);
}

function fromTwilioCode(error: TwilioApiError): ProductError | undefined {
  switch (error.code) {
    case TwilioErrorCode.INVALID_PARAMETER:
    case TwilioErrorCode.INVALID_TO_NUMBER:
      return new SmsInvalidRequestError(error);
    case TwilioErrorCode.MAX_SEND_ATTEMPTS:
      return new SmsProviderRateLimitedError(VERIFICATION_LIFETIME_SECONDS, error);
    case TwilioErrorCode.TOO_MANY_REQUESTS:
    case TwilioErrorCode.SERVICE_RATE_LIMIT:
    case TwilioErrorCode.RATE_LIMIT_BUCKET_MAXIMUM:
    case TwilioErrorCode.CONCURRENT_REQUESTS_FOR_NUMBER:
      return new SmsProviderRateLimitedError(RATE_LIMIT_RETRY_SECONDS, error);
    case TwilioErrorCode.MAX_CHECK_ATTEMPTS:
      return new ProviderVerificationAttemptsExceededError(error);
    case TwilioErrorCode.FRAUD_GUARD_BLOCKED:
    case TwilioErrorCode.GEO_PERMISSIONS_BLOCKED:
    case TwilioErrorCode.UNSUBSCRIBED_RECIPIENT:
    case TwilioErrorCode.REGION_NOT_ENABLED:
      return new SmsDestinationRefusedError(error);
    case TwilioErrorCode.NOT_FOUND:
      return new ProviderVerificationNotFoundError(error);
    default:
      return undefined;
  }
}

/**
 * Translates anything the Twilio SDK throws into the product's errors, keeping the original as
 * `cause` for logs. Messages are fixed texts: Twilio's own messages can contain the phone number
 * (`Invalid parameter To: +2519…`), so they never reach a client.
 *
 * Everything not recognised — 5xx, timeouts, refused or reset connections, DNS failures,
 * authentication failures (20003, our misconfiguration) — means SMS cannot be sent right now.
 */
export function toProductError(error: unknown): ProductError {
  if (error instanceof ProductError) return error;
  if (!isTwilioApiError(error)) {
    return withProviderFailure(new SmsProviderUnavailableError(error), networkFailureOf(error));
  }
  const failure: ProviderFailure = {
    providerCode: error.code === undefined ? `HTTP_${error.status}` : String(error.code),
    providerMessage: maskPhoneNumbers(error.message),
  };
  const translated = fromTwilioCode(error);
  if (translated) return withProviderFailure(translated, failure);
  if (error.status === 429) {
    return withProviderFailure(
      new SmsProviderRateLimitedError(RATE_LIMIT_RETRY_SECONDS, error),
      failure,
    );
  }
  return withProviderFailure(new SmsProviderUnavailableError(error), failure);
}

function withProviderFailure(error: ProductError, failure: ProviderFailure): ProductError {
  return Object.assign(error, failure);
}

/** A network failure's code (ETIMEDOUT, ECONNREFUSED …) as the provider code, if it has one. */
function networkFailureOf(error: unknown): ProviderFailure {
  const code = error instanceof Error ? (error as { code?: unknown }).code : undefined;
  return typeof code === 'string' ? { providerCode: code } : {};
}

/**
 * Twilio's messages may quote the number (`Invalid parameter To: +251911234567`); analytics keep
 * them without it.
 */
export function maskPhoneNumbers(message: string): string {
  return message.replace(/\+?\d[\d\s().-]{4,}\d/g, '…');
}
