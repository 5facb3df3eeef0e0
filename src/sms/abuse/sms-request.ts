import { Injectable } from '@nestjs/common';
import { Hasher } from '../../common/hasher';
import { ProductError } from '../../common/errors/product-error';
import { PURPOSES, Purpose } from '../../common/purpose';
import { RequestSlot } from '../../common/request-context';
import { NormalizedPhone, PhoneService } from '../../phone/phone.service';
import type { SendCapLayer } from './policies';

/** What an SMS route's body names before validation: everything may be missing or wrong. */
interface SmsRequestBody {
  phoneNumber?: unknown;
  countryCode?: unknown;
  purpose?: unknown;
  code?: unknown;
}

/**
 * One SMS request's subject, worked out once by the first layer that reads the request and kept
 * in its context (RequestSlot): the normalized number and its country, the purpose, and each HMAC
 * a later layer needs, computed the first time it is asked for. The known-refusal hook, the SMS
 * guard, VerificationSender and CodeChecker all read this one object.
 */
export class SmsRequest {
  /** The send caps the guard found full (RateLimitService.consumeSend): the sender decides. */
  fullCaps: readonly SendCapLayer[] = [];
  /** The guard counted the client's code-check limit for this request. */
  codeCheckCounted = false;
  private hashes: {
    phone?: string;
    prefix?: string;
    prefixHash?: string;
    client?: string;
    network?: string;
  } = {};

  constructor(
    /** The body's own fields, so a reader can tell the subject describes its input. */
    readonly phoneNumber: string,
    readonly countryCode: string | undefined,
    readonly phone: NormalizedPhone,
    readonly purpose: Purpose,
    readonly clientIp: string,
    private readonly hasher: Hasher,
    private readonly phones: PhoneService,
  ) {}

  get country(): string {
    return this.phone.country;
  }

  get phoneHash(): string {
    return (this.hashes.phone ??= this.hasher.hash('phone', this.phone.e164));
  }

  /** E.164 minus its last 4 digits: the range adjacent-number sweeps walk through. */
  get prefix(): string {
    return (this.hashes.prefix ??= this.phones.prefixOf(this.phone.e164));
  }

  get prefixHash(): string {
    return (this.hashes.prefixHash ??= this.hasher.hash('phone-prefix', this.prefix));
  }

  /** The client's address group (Hasher.hashClient). */
  get clientHash(): string {
    return (this.hashes.client ??= this.hasher.hashClient(this.clientIp));
  }

  /** 128 bits of the client network's HMAC: they tell networks apart as well as 256. */
  get clientNetworkHash(): string {
    return (this.hashes.network ??= this.hasher.hashClientNetwork(this.clientIp).slice(0, 32));
  }

  describes(input: { phoneNumber: string; countryCode?: string; purpose: Purpose }): boolean {
    return (
      input.phoneNumber === this.phoneNumber &&
      input.countryCode === this.countryCode &&
      input.purpose === this.purpose
    );
  }
}

const CURRENT = new RequestSlot<SmsRequest>('sms-request');

/** Builds each SMS request's subject once and finds it again later in the same request. */
@Injectable()
export class SmsRequests {
  constructor(
    private readonly phones: PhoneService,
    private readonly hasher: Hasher,
  ) {}

  /**
   * The subject of a send (or, with `requireCode`, a code check) if the body names a valid
   * number and a known purpose; undefined for a body the route will refuse anyway: such a body
   * reaches no provider, and counting it against a number would let garbage use up a real
   * number's quota. The current request's subject when it already describes this body.
   */
  of(body: unknown, clientIp: string, requireCode = false): SmsRequest | undefined {
    const { phoneNumber, countryCode, purpose, code } = (body ?? {}) as SmsRequestBody;
    if (typeof phoneNumber !== 'string' || !isPurpose(purpose)) return undefined;
    if (requireCode && typeof code !== 'string') return undefined;
    const country = typeof countryCode === 'string' ? countryCode : undefined;
    const known = CURRENT.get();
    if (
      known?.clientIp === clientIp &&
      known.describes({ phoneNumber, countryCode: country, purpose })
    )
      return known;
    let phone: NormalizedPhone;
    try {
      phone = this.phones.normalize(phoneNumber, country);
    } catch (error) {
      if (error instanceof ProductError) return undefined;
      throw error;
    }
    const request = this.subject({ phoneNumber, countryCode: country, purpose }, phone, clientIp);
    CURRENT.set(request);
    return request;
  }

  /** A subject for a number already normalized, outside the request's context. */
  subject(
    input: { phoneNumber: string; countryCode?: string; purpose: Purpose },
    phone: NormalizedPhone,
    clientIp: string,
  ): SmsRequest {
    return new SmsRequest(
      input.phoneNumber,
      input.countryCode,
      phone,
      input.purpose,
      clientIp,
      this.hasher,
      this.phones,
    );
  }

  /** The current request's subject, if it describes this input (an SMS route's own body). */
  current(input: {
    phoneNumber: string;
    countryCode?: string;
    purpose: Purpose;
  }): SmsRequest | undefined {
    const known = CURRENT.get();
    return known?.describes(input) ? known : undefined;
  }
}

function isPurpose(value: unknown): value is Purpose {
  return typeof value === 'string' && (PURPOSES as readonly string[]).includes(value);
}
