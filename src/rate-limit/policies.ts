import { Purpose } from '../sms/purpose';
import { RateLimitConfig } from './rate-limit.config';
import { LimitRule } from './store/rate-limit-store';

/** What the limits of one request are keyed on; every identifier is already an HMAC. */
export interface SendSubject {
  phoneHash: string;
  prefixHash: string;
  country: string;
  purpose: Purpose;
  ipHash: string;
}

export interface VerifySubject {
  phoneHash: string;
  ipHash: string;
}

/** 128 bits of an HMAC are plenty for a counter key and halve the memory of a million keys. */
const short = (hash: string): string => hash.slice(0, 32);

/**
 * The policy table for sending a code (README "Rate limits"). Order matters only for which layer
 * is reported: the store applies all of them, or none, atomically.
 */
export function sendRules(subject: SendSubject, config: RateLimitConfig): LimitRule[] {
  const phone = short(subject.phoneHash);
  const ip = short(subject.ipHash);
  const rules: LimitRule[] = [
    {
      type: 'window',
      layer: 'ip',
      key: `send:ip:${ip}`,
      limit: config.perIp,
      windowMs: config.windowMs,
    },
    {
      type: 'distinct',
      layer: 'ip-phones',
      key: `send:ip-phones:${ip}`,
      member: phone,
      limit: config.distinctPhonesPerIp,
      windowMs: config.distinctPhonesWindowMs,
    },
  ];
  if (config.resendCooldownsMs.length > 0) {
    rules.push({
      type: 'cooldown',
      layer: 'cooldown',
      key: `send:cooldown:${subject.purpose}:${phone}`,
      stepsMs: config.resendCooldownsMs,
      resetAfterMs: Math.max(config.windowMs, ...config.resendCooldownsMs),
    });
  }
  rules.push(
    {
      type: 'window',
      layer: 'phone',
      key: `send:phone:${phone}`,
      limit: config.perPhone,
      windowMs: config.windowMs,
    },
    {
      type: 'window',
      layer: 'purpose',
      key: `send:purpose:${subject.purpose}:${phone}`,
      limit: config.perPurpose[subject.purpose],
      windowMs: config.windowMs,
    },
    {
      type: 'window',
      layer: 'prefix',
      key: `send:prefix:${short(subject.prefixHash)}`,
      limit: config.perPrefix,
      windowMs: config.prefixWindowMs,
    },
    {
      type: 'window',
      layer: 'country',
      key: `send:country:${subject.country}`,
      limit: config.perCountry.get(subject.country) ?? config.perCountryDefault,
      windowMs: config.windowMs,
    },
    {
      type: 'window',
      layer: 'global',
      key: 'send:global',
      limit: config.global,
      windowMs: config.windowMs,
    },
  );
  return rules;
}

/**
 * Checking a code: attempts per phone across all its verifications (a resend never resets it;
 * success clears it) and per client IP.
 */
export function verifyRules(subject: VerifySubject, config: RateLimitConfig): LimitRule[] {
  return [
    {
      type: 'window',
      layer: 'verify-ip',
      key: `verify:ip:${short(subject.ipHash)}`,
      limit: config.verifyPerIp,
      windowMs: config.windowMs,
    },
    {
      type: 'window',
      layer: 'verify-phone',
      key: verifyPhoneKey(subject.phoneHash),
      limit: config.verifyPerPhone,
      windowMs: config.verifyPhoneWindowMs,
    },
  ];
}

export function verifyPhoneKey(phoneHash: string): string {
  return `verify:phone:${short(phoneHash)}`;
}

export interface PasswordSubject {
  phoneHash: string;
  ipHash: string;
}

/** Wrong-password budget; the auth module owns the numbers (AUTH_PASSWORD_ATTEMPTS_*). */
export interface PasswordLimits {
  /** Per phone. */
  limit: number;
  /** Per client IP: higher, since one address can front many users (carrier-grade NAT). */
  ipLimit: number;
  windowMs: number;
}

/**
 * Password attempts, counted before the password is checked (concurrent guesses cannot share a
 * slot), per phone (a right password clears it, like a right code) and per client IP.
 */
export function passwordRules(subject: PasswordSubject, limits: PasswordLimits): LimitRule[] {
  return [
    {
      type: 'window',
      layer: 'password-ip',
      key: `password:ip:${short(subject.ipHash)}`,
      limit: limits.ipLimit,
      windowMs: limits.windowMs,
    },
    {
      type: 'window',
      layer: 'password-phone',
      key: passwordPhoneKey(subject.phoneHash),
      limit: limits.limit,
      windowMs: limits.windowMs,
    },
  ];
}

export function passwordPhoneKey(phoneHash: string): string {
  return `password:phone:${short(phoneHash)}`;
}
