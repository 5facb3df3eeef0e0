import type { AppEnvironment } from '../app.environment';
import { Locale } from '../common/locale';
import { Purpose } from '../common/purpose';
import { SmsEnvironment, TwilioEnvironment } from './sms.environment';

/** What the SMS settings are read from: the provider follows the Twilio settings. */
type Environment = SmsEnvironment & TwilioEnvironment & Pick<AppEnvironment, 'NODE_ENV'>;

export type ResolvedSmsProvider = 'twilio-verify' | 'twilio-messaging' | 'console';

export interface TwilioConfig {
  accountSid?: string;
  authToken?: string;
  verifyServiceSid?: string;
  messagingServiceSid?: string;
  from?: string;
  /** Test and local-fake origin for every Twilio REST call; refused in production. */
  apiBaseUrl?: string;
  timeoutMs: number;
  /** Concurrent connections per Twilio host (the SDK's agent defaults to 20). */
  maxSockets: number;
  circuit: TwilioCircuitConfig;
}

/** The circuit breaker each Twilio API call goes through (see twilio-circuit.ts). */
export interface TwilioCircuitConfig {
  /** Consecutive Twilio-side failures that open the circuit. */
  failures: number;
  /** How long the circuit stays open before one probe call may go through. */
  halfOpenAfterMs: number;
}

export interface SmsConfig {
  provider: ResolvedSmsProvider;
  /** Messaging can carry texts Verify cannot localize (Amharic). */
  messagingConfigured: boolean;
  codeLength: number;
  maxAttempts: number;
  maxSendsPerVerification: number;
  expiryMinutes: Record<Purpose, number>;
  verificationTokenTtlSeconds: number;
  /** How often pending verifications past their expiry are marked expired (expiry-sweeper.ts). */
  expirySweepIntervalMs: number;
  /** E.164 → fixed code; empty when test numbers are off. */
  testNumbers: Map<string, string>;
  /** Test numbers were configured but are ignored because this is production. */
  testNumbersIgnored: boolean;
  defaultLocale: Locale;
  countryLocales: Map<string, Locale>;
}

export function twilioConfigFromEnvironment(environment: TwilioEnvironment): TwilioConfig {
  return {
    accountSid: environment.TWILIO_ACCOUNT_SID,
    authToken: environment.TWILIO_AUTH_TOKEN,
    verifyServiceSid: environment.TWILIO_VERIFY_SERVICE_SID,
    messagingServiceSid: environment.TWILIO_MESSAGING_SERVICE_SID,
    from: environment.TWILIO_FROM,
    apiBaseUrl: environment.TWILIO_API_BASE_URL?.replace(/\/+$/, ''),
    timeoutMs: environment.TWILIO_TIMEOUT_MS,
    maxSockets: environment.TWILIO_MAX_SOCKETS,
    circuit: {
      failures: environment.TWILIO_CIRCUIT_FAILURES,
      halfOpenAfterMs: environment.TWILIO_CIRCUIT_HALF_OPEN_AFTER_MS,
    },
  };
}

function resolveProvider(environment: Environment, problems: string[]): ResolvedSmsProvider {
  const credentials = Boolean(environment.TWILIO_ACCOUNT_SID && environment.TWILIO_AUTH_TOKEN);
  const verify = credentials && Boolean(environment.TWILIO_VERIFY_SERVICE_SID);
  const messaging =
    credentials && Boolean(environment.TWILIO_MESSAGING_SERVICE_SID || environment.TWILIO_FROM);
  switch (environment.SMS_PROVIDER) {
    case 'auto':
      return verify ? 'twilio-verify' : messaging ? 'twilio-messaging' : 'console';
    case 'twilio-verify':
      if (!verify) {
        problems.push(
          'SMS_PROVIDER=twilio-verify needs TWILIO_ACCOUNT_SID, TWILIO_AUTH_TOKEN and TWILIO_VERIFY_SERVICE_SID',
        );
      }
      return 'twilio-verify';
    case 'twilio-messaging':
      if (!messaging) {
        problems.push(
          'SMS_PROVIDER=twilio-messaging needs TWILIO_ACCOUNT_SID, TWILIO_AUTH_TOKEN and TWILIO_MESSAGING_SERVICE_SID or TWILIO_FROM',
        );
      }
      return 'twilio-messaging';
    case 'console':
      return 'console';
  }
}

function parseTestNumbers(value: string | undefined): Map<string, string> {
  const numbers = new Map<string, string>();
  for (const entry of value?.split(',') ?? []) {
    const [phone, code] = entry.trim().split(':');
    numbers.set(phone, code);
  }
  return numbers;
}

export function smsConfigFromEnvironment(environment: Environment, problems: string[]): SmsConfig {
  const isProduction = environment.NODE_ENV === 'production';
  const testNumbers = parseTestNumbers(environment.SMS_TEST_NUMBERS);
  const testNumbersAllowed = !isProduction || environment.SMS_ALLOW_TEST_NUMBERS_IN_PRODUCTION;
  for (const [phone, code] of testNumbers) {
    if (code.length !== environment.SMS_CODE_LENGTH) {
      problems.push(
        `SMS_TEST_NUMBERS: the code for ${phone} must have SMS_CODE_LENGTH (${environment.SMS_CODE_LENGTH}) digits`,
      );
    }
  }
  const countryLocales = new Map<string, Locale>();
  for (const entry of environment.SMS_COUNTRY_LOCALES.split(',')) {
    const [country, locale] = entry.trim().split(':');
    countryLocales.set(country.toUpperCase(), locale as Locale);
  }
  return {
    provider: resolveProvider(environment, problems),
    messagingConfigured: Boolean(
      environment.TWILIO_ACCOUNT_SID &&
      environment.TWILIO_AUTH_TOKEN &&
      (environment.TWILIO_MESSAGING_SERVICE_SID || environment.TWILIO_FROM),
    ),
    codeLength: environment.SMS_CODE_LENGTH,
    maxAttempts: environment.SMS_MAX_ATTEMPTS,
    maxSendsPerVerification: environment.SMS_MAX_SENDS_PER_VERIFICATION,
    expiryMinutes: {
      registration: environment.SMS_EXPIRY_REGISTRATION_MINUTES,
      login: environment.SMS_EXPIRY_LOGIN_MINUTES,
      password_reset: environment.SMS_EXPIRY_PASSWORD_RESET_MINUTES,
      two_factor: environment.SMS_EXPIRY_TWO_FACTOR_MINUTES,
    },
    verificationTokenTtlSeconds: environment.SMS_VERIFICATION_TOKEN_TTL_SECONDS,
    expirySweepIntervalMs: environment.SMS_EXPIRY_SWEEP_INTERVAL_MS,
    testNumbers: testNumbersAllowed ? testNumbers : new Map(),
    testNumbersIgnored: !testNumbersAllowed && testNumbers.size > 0,
    defaultLocale: environment.DEFAULT_LOCALE as Locale,
    countryLocales,
  };
}
