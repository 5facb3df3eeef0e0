import { ProductError } from '../../common/errors/product-error';
import { NormalizedPhone, PhoneService } from '../../phone/phone.service';
import { PURPOSES, Purpose } from '../../common/purpose';
import type { SendAttempt } from './rate-limit.service';

/** What an SMS route's body names before validation: everything may be missing or wrong. */
interface SmsRequestBody {
  phoneNumber?: unknown;
  countryCode?: unknown;
  purpose?: unknown;
  code?: unknown;
}

/** The number and purpose an SMS request is about. */
export interface SmsSubject {
  phone: NormalizedPhone;
  purpose: Purpose;
}

/**
 * The number and purpose of a send (or, with `requireCode`, a code check) if the body names a
 * valid number and a known purpose; undefined for a body the validation pipe will refuse anyway.
 * Such a body reaches no provider, and counting it against a number would let garbage use up a
 * real number's quota.
 */
export function smsSubjectOf(
  body: unknown,
  phones: PhoneService,
  requireCode = false,
): SmsSubject | undefined {
  const { phoneNumber, countryCode, purpose, code } = (body ?? {}) as SmsRequestBody;
  if (typeof phoneNumber !== 'string' || !isPurpose(purpose)) return undefined;
  if (requireCode && typeof code !== 'string') return undefined;
  try {
    const phone = phones.normalize(
      phoneNumber,
      typeof countryCode === 'string' ? countryCode : undefined,
    );
    return { phone, purpose };
  } catch (error) {
    if (error instanceof ProductError) return undefined;
    throw error;
  }
}

/** A send's rate-limit subject: the number, its range, country and purpose, and the client IP. */
export function sendAttemptOf(
  { phone, purpose }: SmsSubject,
  ip: string,
  phones: PhoneService,
): SendAttempt {
  return {
    e164: phone.e164,
    prefix: phones.prefixOf(phone.e164),
    country: phone.country,
    purpose,
    ip,
  };
}

function isPurpose(value: unknown): value is Purpose {
  return typeof value === 'string' && (PURPOSES as readonly string[]).includes(value);
}
