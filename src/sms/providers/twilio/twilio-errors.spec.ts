import twilio from 'twilio';
import { VerificationAttemptsExceededError, VerificationNotFoundError } from '../../sms.errors';
import {
  isTwilioErrorCode,
  isTwilioOutage,
  SmsDestinationRefusedError,
  SmsProviderUnavailableError,
  toProductError,
} from './twilio-errors';

const PHONE = '+251911234567';

/** What the SDK throws for a Twilio error response. */
function restException(status: number, code: number, message = 'Twilio says no'): Error {
  return new twilio.RestException({
    statusCode: status,
    body: { code, message, more_info: `https://www.twilio.com/docs/errors/${code}`, status },
  });
}

/** The shape of the axios errors the SDK lets through for network failures. */
function networkError(code: string, message: string): Error {
  return Object.assign(new Error(message), { name: 'AxiosError', code, isAxiosError: true });
}

describe('toProductError', () => {
  it.each([
    [60200, 400],
    [21211, 400],
  ])('turns invalid parameter %i into SMS_INVALID_REQUEST', (code, status) => {
    const cause = restException(status, code, `Invalid parameter \`To\`: ${PHONE}`);

    const error = toProductError(cause);

    expect(error).toMatchObject({ code: 'SMS_INVALID_REQUEST', kind: 'invalid_input', cause });
    expect(error.message).not.toContain(PHONE);
  });

  it.each([
    [60203, 600],
    [60212, 60],
    [20429, 60],
    [60207, 60],
    [60210, 60],
  ])('turns rate limit %i into SMS_PROVIDER_RATE_LIMITED, retry after %i s', (code, seconds) => {
    const cause = restException(429, code);

    expect(toProductError(cause)).toMatchObject({
      code: 'SMS_PROVIDER_RATE_LIMITED',
      kind: 'rate_limited',
      retryAfterSeconds: seconds,
      cause,
    });
  });

  it('turns any other 429 into a rate limit', () => {
    expect(toProductError(restException(429, 99999))).toMatchObject({
      code: 'SMS_PROVIDER_RATE_LIMITED',
      retryAfterSeconds: 60,
    });
  });

  it('turns max check attempts (60202) into VERIFICATION_ATTEMPTS_EXCEEDED for the lifetime', () => {
    const cause = restException(429, 60202);

    const error = toProductError(cause);

    expect(error).toBeInstanceOf(VerificationAttemptsExceededError);
    expect(error).toMatchObject({
      code: 'VERIFICATION_ATTEMPTS_EXCEEDED',
      kind: 'rate_limited',
      retryAfterSeconds: 600,
      cause,
    });
  });

  it.each([
    [60410, 403, 'Fraud Guard blocked the prefix'],
    [60605, 403, 'Geo Permissions block this country'],
    [21610, 400, 'Attempt to send to unsubscribed recipient'],
    [21408, 400, 'Permission to send an SMS has not been enabled for the region'],
  ])('refuses destination %i without telling why', (code, status, reason) => {
    const cause = restException(status, code, `${reason}: ${PHONE}`);

    const error = toProductError(cause);

    expect(error).toMatchObject({
      code: 'SMS_DESTINATION_REFUSED',
      kind: 'invalid_input',
      message: 'This number cannot receive verification codes.',
      cause,
    });
  });

  it('turns 20404 into the same not-found answer as a locally checked code', () => {
    const cause = restException(
      404,
      20404,
      'The requested resource /Services/VA1/VerificationCheck was not found',
    );

    const error = toProductError(cause);

    expect(error).toBeInstanceOf(VerificationNotFoundError);
    expect(error).toMatchObject({ code: 'VERIFICATION_NOT_FOUND', kind: 'not_found', cause });
    expect(error.message).toMatch(/^Invalid or expired code\./);
  });

  it.each<[string, () => unknown]>([
    ['a Twilio 500', () => restException(500, 20500)],
    ['a Twilio 503', () => restException(503, 20503)],
    [
      'a 502 from a proxy without a JSON body',
      () => new twilio.RestException({ statusCode: 502, body: '<html>' }),
    ],
    ['an authentication failure (20003)', () => restException(401, 20003, 'Authenticate')],
    ['an unknown Twilio error', () => restException(400, 21602)],
    ['a timeout', () => networkError('ECONNABORTED', 'timeout of 5000ms exceeded')],
    [
      'a refused connection',
      () => networkError('ECONNREFUSED', 'connect ECONNREFUSED 127.0.0.1:1'),
    ],
    ['a reset connection', () => networkError('ECONNRESET', 'socket hang up')],
    ['a DNS failure', () => networkError('ENOTFOUND', 'getaddrinfo ENOTFOUND api.twilio.com')],
    ['a programming error', () => new TypeError('undefined is not a function')],
    ['something that is not an Error', () => 'boom'],
  ])('turns %s into SMS_PROVIDER_UNAVAILABLE', (_name, makeCause) => {
    const cause = makeCause();

    expect(toProductError(cause)).toMatchObject({
      code: 'SMS_PROVIDER_UNAVAILABLE',
      kind: 'unavailable',
      message: 'SMS delivery is temporarily unavailable. Please try again shortly.',
      retryAfterSeconds: 30,
      cause,
    });
  });

  it('returns product errors unchanged', () => {
    const error = new SmsDestinationRefusedError();

    expect(toProductError(error)).toBe(error);
  });
});

describe('isTwilioErrorCode', () => {
  it('matches the Twilio code of an SDK error only', () => {
    expect(isTwilioErrorCode(restException(429, 60203), 60203)).toBe(true);
    expect(isTwilioErrorCode(restException(429, 60203), 60202)).toBe(false);
    expect(isTwilioErrorCode(networkError('ECONNRESET', 'socket hang up'), 60203)).toBe(false);
    expect(isTwilioErrorCode(undefined, 60203)).toBe(false);
  });
});

describe('isTwilioOutage', () => {
  it.each<[string, () => unknown]>([
    ['a Twilio 500', () => restException(500, 20500)],
    ['a Twilio 503', () => restException(503, 20503)],
    [
      'a 502 from a proxy without a JSON body',
      () => new twilio.RestException({ statusCode: 502, body: '<html>' }),
    ],
    ['rejected credentials (20003)', () => restException(401, 20003, 'Authenticate')],
    ['a timeout', () => networkError('ECONNABORTED', 'timeout of 5000ms exceeded')],
    ['a clarified timeout', () => networkError('ETIMEDOUT', 'timeout of 5000ms exceeded')],
    [
      'a refused connection',
      () => networkError('ECONNREFUSED', 'connect ECONNREFUSED 127.0.0.1:1'),
    ],
    ['a reset connection', () => networkError('ECONNRESET', 'socket hang up')],
    ['a DNS failure', () => networkError('ENOTFOUND', 'getaddrinfo ENOTFOUND api.twilio.com')],
    ['a DNS timeout', () => networkError('EAI_AGAIN', 'getaddrinfo EAI_AGAIN api.twilio.com')],
    ['a network error without errno', () => networkError('ERR_NETWORK', 'Network Error')],
  ])('counts %s as Twilio failing', (_name, makeError) => {
    expect(isTwilioOutage(makeError())).toBe(true);
  });

  it.each<[string, () => unknown]>([
    ['an invalid parameter (60200)', () => restException(400, 60200)],
    ['a Fraud Guard block (60410)', () => restException(403, 60410)],
    ['a Geo Permissions block (60605)', () => restException(403, 60605)],
    ['an unknown verification (20404)', () => restException(404, 20404)],
    ['max check attempts (60202)', () => restException(429, 60202)],
    ['max send attempts (60203)', () => restException(429, 60203)],
    ['too many requests (20429)', () => restException(429, 20429)],
    ['an unknown 4xx answer', () => restException(400, 21602)],
    ['a request axios refused to build', () => networkError('ERR_INVALID_URL', 'Invalid URL')],
    ['a programming error', () => new TypeError('undefined is not a function')],
    ['one of our own errors', () => new SmsProviderUnavailableError()],
    ['something that is not an Error', () => 'boom'],
  ])('does not count %s', (_name, makeError) => {
    expect(isTwilioOutage(makeError())).toBe(false);
  });
});
