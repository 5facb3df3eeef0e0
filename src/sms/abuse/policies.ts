import { Purpose } from '../../common/purpose';
import { HTTP_LAYER } from '../../rate-limit/deferred-http-rule';
import { SmsLimitsConfig } from './abuse.config';
import { LimitRule, WindowRule } from '../../rate-limit/store/rate-limit-store';

/** What the limits of one request are keyed on; every identifier is already an HMAC. */
export interface SendSubject {
  phoneHash: string;
  prefixHash: string;
  country: string;
  purpose: Purpose;
  ipHash: string;
}

/** A code check or password attempt: the number it names and the client (Hasher.hashClient). */
export interface GuessSubject {
  phoneHash: string;
  clientHash: string;
}

/**
 * The layers keyed on the client alone (its address group, Hasher.hashClient): the only quotas a
 * client is told about in RateLimit-* headers. Every other layer counts a number, a number
 * range, a country or the whole service, and its count is what everybody else asked for them.
 */
export const CLIENT_LAYERS: ReadonlySet<string> = new Set([
  'ip',
  'ip-phones',
  'verify-ip',
  'password-ip',
  HTTP_LAYER,
]);

/** 128 bits of an HMAC are plenty for a counter key and halve the memory of a million keys. */
const short = (hash: string): string => hash.slice(0, 32);

/**
 * The policy table for sending a code (README "Rate limits"). Order matters only for which layer
 * is reported: the store applies all of them, or none, atomically.
 */
export function sendRules(subject: SendSubject, config: SmsLimitsConfig): LimitRule[] {
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
    ...sendCapRules(subject.country, config),
  );
  return rules;
}

/**
 * The send layers that bound what the service spends, not what one client or number gets. A
 * stranger can fill them from many addresses, so their refusal is no 429: the send goes on, and
 * VerificationSender delivers it only to a number that verified before (docs/SECURITY.md rule 5).
 */
export const SEND_CAP_LAYERS = ['country', 'global'] as const;
export type SendCapLayer = (typeof SEND_CAP_LAYERS)[number];

/**
 * The caps on what sends cost, per destination country and for the whole service. Last in
 * sendRules: RateLimitService.consumeSend lets a send past a full cap (VerificationSender then
 * delivers it only to a number with history), so every layer before them must have been applied.
 */
export function sendCapRules(
  country: string,
  config: SmsLimitsConfig,
): (WindowRule & { layer: SendCapLayer })[] {
  return [
    {
      type: 'window',
      layer: 'country',
      key: `send:country:${country}`,
      limit: config.perCountry.get(country) ?? config.perCountryDefault,
      windowMs: config.windowMs,
    },
    {
      type: 'window',
      layer: 'global',
      key: 'send:global',
      limit: config.global,
      windowMs: config.windowMs,
    },
  ];
}

/**
 * Real sends past full caps (`fullCaps`), to numbers that verified before: a second window as
 * large as each cap, so what the caps let through stays below twice the cap per window even when
 * every send in it goes to a number with history.
 */
export function sparedSendRules(
  country: string,
  fullCaps: readonly SendCapLayer[],
  config: SmsLimitsConfig,
): WindowRule[] {
  return sendCapRules(country, config)
    .filter((cap) => fullCaps.includes(cap.layer))
    .map((cap) => ({ ...cap, layer: `${cap.layer}-spared`, key: `send:spared:${cap.key}` }));
}

/**
 * Every code check, whatever it names: the client's own budget (an IPv6 /64 is one client).
 */
export function codeCheckRules(clientHash: string, config: SmsLimitsConfig): LimitRule[] {
  return [
    {
      type: 'window',
      layer: 'verify-ip',
      key: `verify:ip:${short(clientHash)}`,
      limit: config.verifyPerIp,
      windowMs: config.windowMs,
    },
  ];
}

/**
 * A code check that can be a guess (it names a live verification), across all of the phone's
 * verifications: a resend never resets these counts. Guesses at one code are already bounded by
 * its verification's attempts and the codes by the send limits, so these bound guessing across
 * resends. The tight count is per phone and client, so no client can spend the owner's (a
 * stranger's wrong codes must not lock the owner out, OWASP Authentication Cheat Sheet); the
 * ceiling, from all clients together, bounds guessing spread over many networks. A right code
 * clears the client's count.
 */
export function codeGuessRules(subject: GuessSubject, config: SmsLimitsConfig): LimitRule[] {
  return [
    {
      type: 'window',
      layer: 'verify-phone',
      key: verifyPhoneKey(subject),
      limit: config.verifyPerPhone,
      windowMs: config.verifyPhoneWindowMs,
    },
    {
      type: 'window',
      layer: 'verify-phone-ceiling',
      key: `verify:phone:${short(subject.phoneHash)}`,
      limit: config.verifyPhoneCeiling,
      windowMs: config.verifyPhoneWindowMs,
    },
  ];
}

export function verifyPhoneKey({ phoneHash, clientHash }: GuessSubject): string {
  return `verify:phone-client:${short(phoneHash)}:${short(clientHash)}`;
}

/** Wrong-password budget; the auth module owns the numbers (AUTH_PASSWORD_ATTEMPTS_*). */
export interface PasswordLimits {
  /** Per phone and client. */
  limit: number;
  /** Per phone, from every client together. */
  ceiling: number;
  /** Per client IP: higher, since one address can front many users (carrier-grade NAT). */
  ipLimit: number;
  windowMs: number;
}

/**
 * Password attempts, counted before the password is checked (concurrent guesses cannot share a
 * slot): per client IP, per phone and client (a right password clears it, like a right code) and
 * per phone from every client. As for codes, the tight count is the client's own, so a stranger's
 * wrong passwords cannot lock the owner out, and the ceiling bounds guessing from many networks.
 */
export function passwordRules(subject: GuessSubject, limits: PasswordLimits): LimitRule[] {
  return [
    {
      type: 'window',
      layer: 'password-ip',
      key: `password:ip:${short(subject.clientHash)}`,
      limit: limits.ipLimit,
      windowMs: limits.windowMs,
    },
    {
      type: 'window',
      layer: 'password-phone',
      key: passwordPhoneKey(subject),
      limit: limits.limit,
      windowMs: limits.windowMs,
    },
    {
      type: 'window',
      layer: 'password-phone-ceiling',
      key: passwordCeilingKey(subject.phoneHash),
      limit: limits.ceiling,
      windowMs: limits.windowMs,
    },
  ];
}

export function passwordPhoneKey({ phoneHash, clientHash }: GuessSubject): string {
  return `password:phone-client:${short(phoneHash)}:${short(clientHash)}`;
}

export function passwordCeilingKey(phoneHash: string): string {
  return `password:phone:${short(phoneHash)}`;
}
