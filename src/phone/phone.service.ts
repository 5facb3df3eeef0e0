import { Injectable } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import {
  CountryCode,
  getCountryCallingCode,
  getExampleNumber,
  isSupportedCountry,
  NumberType,
  ParseError,
  parsePhoneNumberWithError,
  PhoneNumber,
  PhoneNumberType,
  validatePhoneNumberLength,
} from 'libphonenumber-js/max';
import mobileExamples from 'libphonenumber-js/mobile/examples';
import { Configuration } from '../config/configuration';
import { PhoneConfig } from './phone.config';
import {
  countryName,
  PhoneCountryNotSupportedError,
  PhoneError,
  PhoneErrorCode,
  PhoneInvalidError,
  PhoneInvalidReason,
  PhoneTypeNotAllowedError,
} from './phone.errors';

/** Longest input accepted before any parsing: a formatted E.164 number fits with room to spare. */
export const PHONE_NUMBER_MAX_LENGTH = 32;

/** Every line type libphonenumber can report, for API documentation. */
export const PHONE_NUMBER_TYPES: readonly PhoneNumberType[] = [
  'MOBILE',
  'FIXED_LINE_OR_MOBILE',
  'FIXED_LINE',
  'PREMIUM_RATE',
  'SHARED_COST',
  'TOLL_FREE',
  'PAGER',
  'UAN',
  'VOICEMAIL',
  'PERSONAL_NUMBER',
  'VOIP',
];

/** A number that may receive SMS codes, in every form the rest of the service needs. */
export interface NormalizedPhone {
  /** The one key for this number, e.g. "+251911234567". */
  e164: string;
  country: CountryCode;
  /** The country calling code with its plus, e.g. "+251". */
  callingCode: string;
  type: PhoneNumberType;
  /** As dialled inside the country, e.g. "091 123 4567". */
  national: string;
  /** As dialled from abroad, e.g. "+251 91 123 4567". */
  international: string;
}

/** What the validate endpoint reports; the number fields are null when it is not valid. */
export interface PhoneInspection {
  /** A real number (libphonenumber "max" metadata), whether or not SMS can go to it. */
  valid: boolean;
  e164: string | null;
  country: CountryCode | null;
  type: PhoneNumberType | null;
  national: string | null;
  international: string | null;
  /** normalize() would accept it: valid, in a supported country, and able to receive SMS. */
  smsCapable: boolean;
  /** Why it cannot receive codes; absent when smsCapable. */
  reason?: string;
  reasonCode?: PhoneErrorCode;
}

export interface SupportedCountry {
  /** ISO 3166-1 alpha-2. */
  code: CountryCode;
  /** English name, e.g. "Ethiopia". */
  name: string;
  /** e.g. "+251". */
  dialingCode: string;
  /** A mobile example in E.164, e.g. "+251911234567". */
  exampleNumber: string | null;
  /** The example as displayed internationally, e.g. "+251 91 123 4567". */
  displayFormat: string | null;
  /** The example as dialled inside the country, e.g. "091 123 4567". */
  nationalFormat: string | null;
}

/** What is known about a valid number before deciding whether it may receive codes. */
type PhoneDetails = Omit<NormalizedPhone, 'country' | 'type'> & {
  country: CountryCode | undefined;
  type: NumberType;
};

type Analysis = { phone: NormalizedPhone } | { refusal: PhoneError; details?: PhoneDetails };

const PARSE_ERROR_REASONS: Record<string, PhoneInvalidReason> = {
  INVALID_COUNTRY: 'unknown_calling_code',
  TOO_SHORT: 'too_short',
  TOO_LONG: 'too_long',
};

const SEPARATORS = /[ ().-]/g;
const DIGITS_WITH_OPTIONAL_PLUS = /^\+?[0-9]*$/;
const HAS_DIGIT = /[0-9]/;
const COUNTRY_CODE = /^[A-Z]{2}$/;
const E164 = /^\+[1-9][0-9]{6,14}$/;

/** How many normalized numbers PhoneService keeps (oldest out first): a few MB at most. */
const RECENT_NUMBERS = 10_000;

/** Validates, normalizes and describes phone numbers. Pure: no I/O, no logging. */
@Injectable()
export class PhoneService {
  private readonly config: PhoneConfig;
  private readonly countries: readonly SupportedCountry[];
  /** Shown in PHONE_INVALID messages, e.g. "+251911234567". */
  private readonly example: string;
  /**
   * Numbers normalized lately, by country and spelling: one request normalizes its number up to
   * three times (guard, validation, service), and a number under attack arrives over and over.
   * Only accepted numbers are kept, so every key is at most PHONE_NUMBER_MAX_LENGTH long.
   */
  private readonly recent = new Map<string, NormalizedPhone>();

  constructor(config: ConfigService<Configuration, true>) {
    this.config = config.get('phone', { infer: true });
    this.countries = this.config.supportedCountries.map(describeCountry);
    this.example =
      getExampleNumber(this.config.defaultCountry, mobileExamples)?.number ?? '+251911234567';
  }

  /**
   * The E.164 key and display forms of a number that may receive SMS codes. `countryCode` is the
   * country of national digits (default DEFAULT_COUNTRY_CODE); a number with + or 00 carries its
   * own. Throws PhoneInvalidError, PhoneCountryNotSupportedError or PhoneTypeNotAllowedError.
   */
  normalize(phoneNumber: string, countryCode?: string): NormalizedPhone {
    const country = this.resolveCountry(countryCode);
    const key = `${country} ${phoneNumber}`;
    const known = this.recent.get(key);
    if (known) return known;
    const analysis = this.analyze(phoneNumber, country);
    if ('refusal' in analysis) throw analysis.refusal;
    const phone = Object.freeze(analysis.phone);
    if (this.recent.size >= RECENT_NUMBERS) this.recent.delete(this.recent.keys().next().value!);
    this.recent.set(key, phone);
    return phone;
  }

  /**
   * normalize() without throwing for the number, for the validate endpoint. A malformed, unknown
   * or unsupported countryCode is still thrown: it is a bad request, not a bad number.
   */
  inspect(phoneNumber: string, countryCode?: string): PhoneInspection {
    const analysis = this.analyze(phoneNumber, this.resolveCountry(countryCode));
    const details = 'phone' in analysis ? analysis.phone : analysis.details;
    const refusal = 'refusal' in analysis ? analysis.refusal : undefined;
    return {
      valid: details !== undefined,
      e164: details?.e164 ?? null,
      country: details?.country ?? null,
      type: details?.type ?? null,
      national: details?.national ?? null,
      international: details?.international ?? null,
      smsCapable: refusal === undefined,
      ...(refusal && { reason: refusal.message, reasonCode: refusal.code }),
    };
  }

  /** The countries codes may be sent to, in SUPPORTED_COUNTRIES order. */
  supportedCountries(): SupportedCountry[] {
    return [...this.countries];
  }

  /** The country assumed for national digits when no countryCode is given. */
  defaultCountry(): CountryCode {
    return this.config.defaultCountry;
  }

  /**
   * The number without its last four digits, e.g. "+25191123" for "+251911234567": the range
   * that SMS-pumping attacks walk through, used as a rate-limit key.
   */
  prefixOf(e164: string): string {
    if (!E164.test(e164)) throw this.invalid('invalid');
    return e164.slice(0, -4);
  }

  private resolveCountry(countryCode: string | undefined): CountryCode {
    const supported = this.config.supportedCountries;
    if (countryCode === undefined) return this.config.defaultCountry;
    const upper = countryCode.trim().toUpperCase();
    if (!COUNTRY_CODE.test(upper)) {
      throw PhoneCountryNotSupportedError.forUnknownCountryCode('malformed', supported);
    }
    if (!isSupportedCountry(upper)) {
      throw PhoneCountryNotSupportedError.forUnknownCountryCode('unknown', supported);
    }
    if (!supported.includes(upper)) {
      throw PhoneCountryNotSupportedError.forCountry(upper, supported);
    }
    return upper;
  }

  private analyze(phoneNumber: string, defaultCountry: CountryCode): Analysis {
    if (typeof phoneNumber !== 'string') return { refusal: this.invalid('characters') };
    // Checked before anything else touches the text, so huge inputs cost nothing.
    if (phoneNumber.length > PHONE_NUMBER_MAX_LENGTH) {
      return { refusal: this.invalid('input_too_long') };
    }
    const compact = phoneNumber.replace(SEPARATORS, '');
    // libphonenumber would also read letters, extensions and non-ASCII digits; we take none.
    if (!DIGITS_WITH_OPTIONAL_PLUS.test(compact)) return { refusal: this.invalid('characters') };
    if (!HAS_DIGIT.test(compact)) return { refusal: this.invalid('no_digits') };

    const parsed = this.parse(compact, defaultCountry);
    if (parsed instanceof PhoneInvalidError) return { refusal: parsed };

    const country = parsed.country;
    const type = parsed.getType();
    const details: PhoneDetails = {
      e164: parsed.number,
      country,
      callingCode: `+${parsed.countryCallingCode}`,
      type,
      national: parsed.formatNational(),
      international: parsed.formatInternational(),
    };
    if (!country || !this.config.supportedCountries.includes(country)) {
      return {
        details,
        refusal: PhoneCountryNotSupportedError.forCountry(country, this.config.supportedCountries),
      };
    }
    if (
      type === 'MOBILE' ||
      type === 'FIXED_LINE_OR_MOBILE' ||
      (type === 'VOIP' && this.config.allowVoip)
    ) {
      return { phone: { ...details, country, type } };
    }
    return { details, refusal: new PhoneTypeNotAllowedError(type) };
  }

  /**
   * Parses with the default country first, which also understands that country's own
   * international prefix (011 in the US, 0011 in Australia). Only when that gives no valid
   * number is a leading 00, the ITU's international prefix, read as + (and its error reported:
   * whoever typed 00 meant an international number).
   */
  private parse(compact: string, defaultCountry: CountryCode): PhoneNumber | PhoneInvalidError {
    const asDialled = this.parseValid(compact, defaultCountry);
    if (asDialled instanceof PhoneNumber || !compact.startsWith('00')) return asDialled;
    return this.parseValid(`+${compact.slice(2)}`, defaultCountry);
  }

  private parseValid(text: string, defaultCountry: CountryCode): PhoneNumber | PhoneInvalidError {
    let parsed: PhoneNumber;
    try {
      parsed = parsePhoneNumberWithError(text, { defaultCountry });
    } catch (error) {
      if (!(error instanceof ParseError)) throw error;
      return this.invalid(PARSE_ERROR_REASONS[error.message] ?? 'invalid');
    }
    if (parsed.isValid()) return parsed;
    const region = {
      country: parsed.country ?? (text.startsWith('+') ? undefined : defaultCountry),
      callingCode: parsed.countryCallingCode,
    };
    switch (validatePhoneNumberLength(text, { defaultCountry })) {
      case 'TOO_SHORT':
        return this.invalid('too_short', region);
      case 'TOO_LONG':
        return this.invalid('too_long', region);
      default:
        return this.invalid('invalid', region);
    }
  }

  private invalid(
    reason: PhoneInvalidReason,
    region: { country?: CountryCode; callingCode?: string } = {},
  ): PhoneInvalidError {
    return new PhoneInvalidError(reason, {
      maxLength: PHONE_NUMBER_MAX_LENGTH,
      example: this.example,
      ...region,
    });
  }
}

function describeCountry(code: CountryCode): SupportedCountry {
  const example = getExampleNumber(code, mobileExamples);
  return {
    code,
    name: countryName(code),
    dialingCode: `+${getCountryCallingCode(code)}`,
    exampleNumber: example?.number ?? null,
    displayFormat: example?.formatInternational() ?? null,
    nationalFormat: example?.formatNational() ?? null,
  };
}
