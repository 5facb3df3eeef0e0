import type { CountryCode, NumberType } from 'libphonenumber-js/max';
import { ProductError } from '../common/errors/product-error';

export type PhoneErrorCode =
  'PHONE_INVALID' | 'PHONE_COUNTRY_NOT_SUPPORTED' | 'PHONE_TYPE_NOT_ALLOWED';

const REGION_NAMES = new Intl.DisplayNames(['en'], { type: 'region' });

/** The English name of a country, e.g. "Ethiopia" for ET. */
export function countryName(country: CountryCode): string {
  return REGION_NAMES.of(country) ?? country;
}

function listCountries(countries: readonly CountryCode[]): string {
  return countries.map((country) => `${countryName(country)} (${country})`).join(', ');
}

/**
 * A phone number (or its countryCode) that cannot be used. Messages never contain the number
 * itself: they end up in responses and logs.
 */
export abstract class PhoneError extends ProductError {
  protected constructor(
    override readonly code: PhoneErrorCode,
    message: string,
  ) {
    super(code, message, 'invalid_input');
  }
}

export type PhoneInvalidReason =
  | 'no_digits'
  | 'input_too_long'
  | 'characters'
  | 'unknown_calling_code'
  | 'too_short'
  | 'too_long'
  | 'invalid';

export class PhoneInvalidError extends PhoneError {
  constructor(
    readonly reason: PhoneInvalidReason,
    options: { maxLength: number; example: string; country?: CountryCode; callingCode?: string },
  ) {
    const where = options.country
      ? ` for ${countryName(options.country)}`
      : options.callingCode
        ? ` for +${options.callingCode}`
        : '';
    const problems: Record<PhoneInvalidReason, string> = {
      no_digits: 'it contains no digits',
      input_too_long: `it is longer than ${options.maxLength} characters`,
      characters:
        'it may contain only the digits 0-9, spaces, dashes, dots, parentheses and one leading +',
      unknown_calling_code: 'it starts with an unknown country calling code',
      too_short: `it has too few digits${where}`,
      too_long: `it has too many digits${where}`,
      invalid: `it is not a number in use${where}`,
    };
    super(
      'PHONE_INVALID',
      `The phone number is not a valid phone number: ${problems[reason]}. Write it in ` +
        `international form, e.g. ${options.example}, or as national digits with countryCode.`,
    );
  }
}

export class PhoneCountryNotSupportedError extends PhoneError {
  private constructor(
    problem: string,
    readonly supportedCountries: readonly CountryCode[],
    readonly country?: CountryCode,
  ) {
    super(
      'PHONE_COUNTRY_NOT_SUPPORTED',
      `${problem} Supported countries: ${listCountries(supportedCountries)}.`,
    );
  }

  /**
   * The number, or the countryCode given for national digits, belongs to a country (or to a
   * non-geographic range such as +800) that codes are not sent to.
   */
  static forCountry(
    country: CountryCode | undefined,
    supportedCountries: readonly CountryCode[],
  ): PhoneCountryNotSupportedError {
    const problem = country
      ? `Phone numbers from ${countryName(country)} (${country}) are not supported.`
      : 'Phone numbers outside a supported country are not supported.';
    return new PhoneCountryNotSupportedError(problem, supportedCountries, country);
  }

  /** The countryCode given for national digits is not an ISO 3166-1 alpha-2 code at all. */
  static forUnknownCountryCode(
    problem: 'malformed' | 'unknown',
    supportedCountries: readonly CountryCode[],
  ): PhoneCountryNotSupportedError {
    const messages = {
      malformed: 'countryCode must be a two-letter ISO 3166-1 alpha-2 code such as ET.',
      unknown: 'countryCode is not a known ISO 3166-1 alpha-2 country code.',
    };
    return new PhoneCountryNotSupportedError(messages[problem], supportedCountries);
  }
}

/** Line types that cannot receive SMS; undefined is a valid number whose type is unknown. */
export type RefusedPhoneType = Exclude<NumberType, 'MOBILE' | 'FIXED_LINE_OR_MOBILE'>;

/** Why each kind of number cannot take an SMS code, phrased for the person typing it. */
const REFUSED_TYPES: Record<Exclude<RefusedPhoneType, undefined>, string> = {
  FIXED_LINE: 'Landline numbers',
  PREMIUM_RATE: 'Premium-rate numbers',
  SHARED_COST: 'Shared-cost numbers',
  TOLL_FREE: 'Toll-free numbers',
  PAGER: 'Pager numbers',
  UAN: 'Universal access (UAN) numbers',
  VOICEMAIL: 'Voicemail access numbers',
  PERSONAL_NUMBER: 'Personal (forwarding) numbers',
  VOIP: 'VoIP numbers',
};

export class PhoneTypeNotAllowedError extends PhoneError {
  constructor(readonly type: RefusedPhoneType) {
    const subject = type ? REFUSED_TYPES[type] : 'Numbers whose line type cannot be determined';
    super('PHONE_TYPE_NOT_ALLOWED', `${subject} cannot receive SMS codes. Use a mobile number.`);
  }
}
