import { SmsAbuseEnvironment } from './abuse.environment';
import { PURPOSES, Purpose } from '../../common/purpose';

/** The SMS routes' limit layers (policies.ts); README "Rate limits" explains each layer. */
export interface SmsLimitsConfig {
  windowMs: number;
  perPhone: number;
  global: number;
  perPurpose: Record<Purpose, number>;
  perIp: number;
  distinctPhonesPerIp: number;
  distinctPhonesWindowMs: number;
  perCountry: Map<string, number>;
  perCountryDefault: number;
  perPrefix: number;
  prefixWindowMs: number;
  /** Growing delays between sends to one phone + purpose; empty = no cooldown. */
  resendCooldownsMs: number[];
  /** Code checks against live verifications per phone from one client (its own budget). */
  verifyPerPhone: number;
  /** The same from every client together: bounds guessing spread over many networks. */
  verifyPhoneCeiling: number;
  verifyPhoneWindowMs: number;
  verifyPerIp: number;
}

export interface PumpingConfig {
  mode: 'enforce' | 'shadow' | 'off';
  minConversion: number;
  minSends: number;
  windowMs: number;
  holdDurationMs: number;
  /**
   * A country is held only when its unverified sends (outside held ranges) span at least this
   * many number ranges and come from at least this many client networks (IPv4 /24, IPv6 /48).
   */
  countryMinRanges: number;
  countryMinNetworks: number;
  /** How far back an approved verification still vouches for a number during a hold; 0: never. */
  historyMs: number;
}

export interface BudgetConfig {
  /** 0 = no daily budget. */
  dailyBudget: number;
  currency: string;
  /** Price of one segment per country. */
  prices: Map<string, number>;
  defaultPrice: number;
}

/** Numbers that bounced permanently (suppression/). */
export interface SuppressionConfig {
  /** How long such a number gets nothing. */
  durationMs: number;
  /** Delivery errors after which a number is suppressed (unreachable, unknown, landline). */
  errorCodes: Set<string>;
}

/**
 * A per-phone ceiling's default, as a multiple of the per-client limit: an attacker needs that many
 * networks to shut a number's owner out, while guessing spread over them stays bounded.
 */
export const PHONE_CEILING_FACTOR = 10;

function pairs(value: string | undefined): [string, string][] {
  if (!value) return [];
  return value.split(',').map((entry) => {
    const [key, amount] = entry.trim().split(':');
    return [key, amount];
  });
}

export function smsLimitsConfigFromEnvironment(
  environment: SmsAbuseEnvironment,
  problems: string[],
): SmsLimitsConfig {
  const perPurpose = Object.fromEntries(
    PURPOSES.map((purpose) => [purpose, environment.SMS_RATE_LIMIT_MAX_ATTEMPTS]),
  ) as Record<Purpose, number>;
  for (const [purpose, limit] of pairs(environment.SMS_PURPOSE_LIMITS)) {
    perPurpose[purpose as Purpose] = Number(limit);
  }
  const verifyPhoneCeiling =
    environment.SMS_VERIFY_PHONE_CEILING ??
    PHONE_CEILING_FACTOR * environment.SMS_VERIFY_PHONE_LIMIT;
  if (verifyPhoneCeiling < environment.SMS_VERIFY_PHONE_LIMIT) {
    // Below the per-client limit, one client could again use up every client's checks.
    problems.push('SMS_VERIFY_PHONE_CEILING: must be at least SMS_VERIFY_PHONE_LIMIT');
  }
  const cooldowns = environment.SMS_RESEND_COOLDOWNS.split(',').map(
    (seconds) => Number(seconds.trim()) * 1000,
  );
  return {
    windowMs: environment.SMS_RATE_LIMIT_WINDOW,
    perPhone: environment.SMS_RATE_LIMIT_MAX_ATTEMPTS,
    global: environment.SMS_RATE_LIMIT_GLOBAL_MAX,
    perPurpose,
    perIp: environment.SMS_IP_LIMIT,
    distinctPhonesPerIp: environment.SMS_IP_DISTINCT_PHONES,
    distinctPhonesWindowMs: environment.SMS_IP_DISTINCT_PHONES_WINDOW,
    perCountry: new Map(
      pairs(environment.SMS_COUNTRY_LIMITS).map(([country, limit]) => [
        country.toUpperCase(),
        Number(limit),
      ]),
    ),
    perCountryDefault: environment.SMS_COUNTRY_LIMIT_DEFAULT,
    perPrefix: environment.SMS_PREFIX_LIMIT,
    prefixWindowMs: environment.SMS_PREFIX_WINDOW,
    resendCooldownsMs: cooldowns.every((milliseconds) => milliseconds === 0) ? [] : cooldowns,
    verifyPerPhone: environment.SMS_VERIFY_PHONE_LIMIT,
    verifyPhoneCeiling,
    verifyPhoneWindowMs: environment.SMS_VERIFY_PHONE_WINDOW,
    verifyPerIp: environment.SMS_VERIFY_IP_LIMIT,
  };
}

export function pumpingConfigFromEnvironment(environment: SmsAbuseEnvironment): PumpingConfig {
  return {
    mode: environment.SMS_PUMPING_MODE,
    minConversion: environment.SMS_PUMPING_MIN_CONVERSION,
    minSends: environment.SMS_PUMPING_MIN_SENDS,
    windowMs: environment.SMS_PUMPING_WINDOW,
    holdDurationMs: environment.SMS_PUMPING_HOLD_DURATION,
    countryMinRanges: environment.SMS_PUMPING_COUNTRY_MIN_RANGES,
    countryMinNetworks: environment.SMS_PUMPING_COUNTRY_MIN_NETWORKS,
    historyMs: environment.SMS_PUMPING_HISTORY_DAYS * 86_400_000,
  };
}

export function budgetConfigFromEnvironment(environment: SmsAbuseEnvironment): BudgetConfig {
  return {
    dailyBudget: environment.SMS_DAILY_BUDGET,
    currency: environment.SMS_BUDGET_CURRENCY,
    prices: new Map(
      pairs(environment.SMS_PRICES).map(([country, price]) => [
        country.toUpperCase(),
        Number(price),
      ]),
    ),
    defaultPrice: environment.SMS_PRICE_DEFAULT,
  };
}

export function suppressionConfigFromEnvironment(
  environment: SmsAbuseEnvironment,
): SuppressionConfig {
  return {
    durationMs: environment.SMS_SUPPRESSION_HOURS * 3_600_000,
    errorCodes: new Set(
      environment.SMS_SUPPRESSION_ERROR_CODES.split(',').map((code) => code.trim()),
    ),
  };
}
