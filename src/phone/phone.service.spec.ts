import { PhoneNumber } from 'libphonenumber-js/max';
import { createPhoneService } from '../../test/support/phones';
import {
  PhoneCountryNotSupportedError,
  PhoneInvalidError,
  PhoneTypeNotAllowedError,
} from './phone.errors';
import { PHONE_NUMBER_MAX_LENGTH } from './phone.service';

function thrown(action: () => unknown): unknown {
  try {
    action();
  } catch (error) {
    return error;
  }
  throw new Error('expected an error');
}

describe('PhoneService', () => {
  const phones = createPhoneService();

  describe('normalize', () => {
    it.each([
      ['+251 91 123 4567', undefined],
      ['+251911234567', undefined],
      ['0911234567', 'ET'],
      ['0911234567', undefined],
      ['911234567', 'ET'],
      ['00251911234567', undefined],
      ['00 251 91 123 4567', 'US'],
      ['+251-911-234-567', undefined],
      ['(091) 123.4567', 'et'],
      ['251911234567', 'ET'],
      ['011 251 91 123 4567', 'US'],
    ])('reads %j (countryCode %s) as one E.164 key', (spelling, countryCode) => {
      expect(phones.normalize(spelling, countryCode)).toEqual({
        e164: '+251911234567',
        country: 'ET',
        callingCode: '+251',
        type: 'MOBILE',
        national: '091 123 4567',
        international: '+251 91 123 4567',
      });
    });

    it("reads a leading 0011 as Australia's own international prefix, not as 00", () => {
      expect(phones.normalize('0011 251 91 123 4567', 'AU').e164).toBe('+251911234567');
    });

    it('reports what is wrong with a 00 number as an international number', () => {
      expect(() => phones.normalize('00 44 7400 1', 'US')).toThrow('too few digits for +44.');
    });

    it('tells Canada from the US by the +1 area code', () => {
      expect(phones.normalize('+1 416 234 5678')).toMatchObject({
        e164: '+14162345678',
        country: 'CA',
        callingCode: '+1',
        type: 'FIXED_LINE_OR_MOBILE',
      });
      expect(phones.normalize('+1 (212) 234-5678')).toMatchObject({
        e164: '+12122345678',
        country: 'US',
        type: 'FIXED_LINE_OR_MOBILE',
        national: '(212) 234-5678',
        international: '+1 212 234 5678',
      });
      expect(phones.normalize('(416) 234-5678', 'US').country).toBe('CA');
    });

    it('formats British and Australian mobiles for display', () => {
      expect(phones.normalize('07400 123456', 'GB')).toMatchObject({
        e164: '+447400123456',
        country: 'GB',
        national: '07400 123456',
        international: '+44 7400 123456',
      });
      expect(phones.normalize('0412 345 678', 'AU')).toMatchObject({
        e164: '+61412345678',
        type: 'MOBILE',
      });
    });

    it.each([
      ['an Ethiopian landline', '+251 11 111 2345', 'FIXED_LINE', 'Landline numbers'],
      ['a US toll-free number', '+1 800 234 5678', 'TOLL_FREE', 'Toll-free numbers'],
      ['a US premium-rate number', '+1 900 234 5678', 'PREMIUM_RATE', 'Premium-rate numbers'],
      ['a US personal number', '+1 500 234 5678', 'PERSONAL_NUMBER', 'Personal'],
      ['a GB premium-rate number', '09012345678', 'PREMIUM_RATE', 'Premium-rate numbers'],
      ['a GB pager', '07640 123456', 'PAGER', 'Pager numbers'],
      ['a GB UAN', '055 1234 5678', 'UAN', 'Universal access'],
      ['a GB VoIP number', '056 1234 5678', 'VOIP', 'VoIP numbers'],
      ['an AU shared-cost number', '+61 1300 123 456', 'SHARED_COST', 'Shared-cost numbers'],
      ['an AU VoIP number', '+61 147 101 234', 'VOIP', 'VoIP numbers'],
    ])('refuses %s', (_name, number, type, subject) => {
      const error = thrown(() => phones.normalize(number, 'GB'));
      expect(error).toBeInstanceOf(PhoneTypeNotAllowedError);
      expect(error).toMatchObject({ code: 'PHONE_TYPE_NOT_ALLOWED', kind: 'invalid_input', type });
      expect((error as Error).message).toMatch(
        new RegExp(`^${subject}.* cannot receive SMS codes\\. Use a mobile number\\.$`),
      );
    });

    it('says landlines cannot receive codes in plain words', () => {
      expect(() => phones.normalize('0111112345', 'ET')).toThrow(
        'Landline numbers cannot receive SMS codes. Use a mobile number.',
      );
    });

    it('refuses a voicemail access number (Swiss example)', () => {
      const withSwitzerland = createPhoneService({ supportedCountries: ['ET', 'CH'] });
      expect(thrown(() => withSwitzerland.normalize('+41 860 123 456 789'))).toMatchObject({
        code: 'PHONE_TYPE_NOT_ALLOWED',
        type: 'VOICEMAIL',
      });
    });

    it('accepts VoIP numbers only when SMS_ALLOW_VOIP is on', () => {
      const allowingVoip = createPhoneService({ allowVoip: true });
      expect(allowingVoip.normalize('+44 56 1234 5678')).toMatchObject({
        e164: '+445612345678',
        type: 'VOIP',
      });
      expect(() => phones.normalize('+44 56 1234 5678')).toThrow(PhoneTypeNotAllowedError);
    });

    it('refuses a valid number whose line type is unknown', () => {
      const getType = jest.spyOn(PhoneNumber.prototype, 'getType').mockReturnValue(undefined);
      try {
        // A service of its own: the shared one already knows this number.
        const error = thrown(() => createPhoneService().normalize('+251911234567'));
        expect(error).toMatchObject({ code: 'PHONE_TYPE_NOT_ALLOWED', type: undefined });
        expect((error as Error).message).toContain('line type cannot be determined');
      } finally {
        getType.mockRestore();
      }
    });

    it('refuses numbers from countries outside SUPPORTED_COUNTRIES, listing the supported ones', () => {
      const error = thrown(() => phones.normalize('+33 6 12 34 56 78'));
      expect(error).toBeInstanceOf(PhoneCountryNotSupportedError);
      expect(error).toMatchObject({
        code: 'PHONE_COUNTRY_NOT_SUPPORTED',
        kind: 'invalid_input',
        country: 'FR',
      });
      expect((error as Error).message).toBe(
        'Phone numbers from France (FR) are not supported. Supported countries: Ethiopia (ET), ' +
          'United States (US), United Kingdom (GB), Canada (CA), Australia (AU).',
      );
    });

    it('refuses +1 numbers of other NANP countries and non-geographic numbers', () => {
      expect(thrown(() => phones.normalize('+1 876 210 1234'))).toMatchObject({
        code: 'PHONE_COUNTRY_NOT_SUPPORTED',
        country: 'JM',
      });
      expect(thrown(() => phones.normalize('+800 1234 5678'))).toMatchObject({
        code: 'PHONE_COUNTRY_NOT_SUPPORTED',
        country: undefined,
      });
    });

    // libphonenumber gives the Crown Dependencies' +44 ranges their own regions: GB in
    // SUPPORTED_COUNTRIES does not cover them (README, "Phone numbers").
    it.each([
      ['Guernsey', '+44 7911 123456', 'GG'],
      ['Guernsey', '+44 7781 123456', 'GG'],
      ['Jersey', '+44 7797 712345', 'JE'],
      ['the Isle of Man', '+44 7624 123456', 'IM'],
      ['the Isle of Man', '+44 7524 123456', 'IM'],
    ])(
      'refuses mobiles of %s (%s) as %s unless that code is supported',
      (_name, number, region) => {
        expect(thrown(() => phones.normalize(number))).toMatchObject({
          code: 'PHONE_COUNTRY_NOT_SUPPORTED',
          country: region,
        });
        const withRegion = createPhoneService({
          supportedCountries: ['ET', 'GB', region as 'GG' | 'JE' | 'IM'],
        });
        expect(withRegion.normalize(number)).toMatchObject({ country: region, type: 'MOBILE' });
      },
    );

    it('counts only the ranges libphonenumber places in the UK as GB (+44 7400, +44 7924)', () => {
      for (const number of ['+44 7400 123456', '+44 7924 123456']) {
        expect(phones.normalize(number)).toMatchObject({ country: 'GB', type: 'MOBILE' });
      }
    });

    it.each([
      ['too few digits', '+251 91 123 45', 'too few digits for Ethiopia'],
      ['too many digits', '+251 91 123 4567 89', 'too many digits for Ethiopia'],
      ['too few national digits', '12', 'too few digits for Ethiopia'],
      ['an unknown calling code', '+999 123 456 789', 'unknown country calling code'],
      ['a number not in use', '+251 61 123 4567', 'not a number in use for Ethiopia'],
      ['only separators', ' ( ) - . ', 'it contains no digits'],
      ['empty', '', 'it contains no digits'],
      ['a plus alone', '+', 'it contains no digits'],
      ['letters', '+251 91 CALL ME', 'only the digits 0-9'],
      ['an extension', '+251911234567 ext 12', 'only the digits 0-9'],
      ['a second plus', '+251+911234567', 'only the digits 0-9'],
      ['slashes', '091/123/4567', 'only the digits 0-9'],
      ['Arabic-Indic digits', '+٢٥١٩١١٢٣٤٥٦٧', 'only the digits 0-9'],
      ['fullwidth digits', '+２５１９１１２３４５６７', 'only the digits 0-9'],
      ['Ethiopic digits', '+፪፭፩፱፩፩፪፫፬፭፮፯', 'only the digits 0-9'],
      ['a non-breaking space', '+251\u00a0911234567', 'only the digits 0-9'],
      ['a newline', '+251911234567\n', 'only the digits 0-9'],
    ])('refuses %s as PHONE_INVALID with how to write it', (_name, input, problem) => {
      const error = thrown(() => phones.normalize(input));
      expect(error).toBeInstanceOf(PhoneInvalidError);
      expect(error).toMatchObject({ code: 'PHONE_INVALID', kind: 'invalid_input' });
      const message = (error as Error).message;
      expect(message).toContain('is not a valid phone number');
      expect(message).toContain(problem);
      expect(message).toContain('+251911234567, or as national digits with countryCode');
    });

    it('refuses huge input by its length, before parsing it', () => {
      const huge = '+251' + '9'.repeat(1_000_000);
      const started = performance.now();
      const error = thrown(() => phones.normalize(huge));
      expect(performance.now() - started).toBeLessThan(50);
      expect(error).toMatchObject({ code: 'PHONE_INVALID' });
      expect((error as Error).message).toContain(
        `longer than ${PHONE_NUMBER_MAX_LENGTH} characters`,
      );
      const atLimit = '+251 91 123 4567'.padEnd(PHONE_NUMBER_MAX_LENGTH, ' ');
      expect(phones.normalize(atLimit).e164).toBe('+251911234567');
      expect(() => phones.normalize(`${atLimit} `)).toThrow(PhoneInvalidError);
    });

    it('refuses a non-string phone number from untyped callers as PHONE_INVALID', () => {
      expect(() => phones.normalize(42 as unknown as string)).toThrow(PhoneInvalidError);
    });

    it('never echoes the number in any error message', () => {
      const inputs = [
        ['+251 11 111 2345', '111112345'],
        ['+33 7 65 43 21 09', '765432109'],
        ['+251 61 765 4321', '617654321'],
        ['+251 97 CALL ME', 'CALL'],
        ['+251 92 765 43', '9276543'],
      ];
      for (const [input, nationalPart] of inputs) {
        const message = (thrown(() => phones.normalize(input)) as Error).message;
        expect(message).not.toContain(input);
        expect(message.replace(/\D/g, '')).not.toContain(nationalPart);
        expect(message).not.toContain(nationalPart);
      }
    });

    it('uses the default country example in PHONE_INVALID messages', () => {
      const britishDefault = createPhoneService({ defaultCountry: 'GB' });
      expect(() => britishDefault.normalize('12')).toThrow(
        'e.g. +447400123456, or as national digits with countryCode',
      );
    });

    it('uses DEFAULT_COUNTRY_CODE for national digits', () => {
      const americanDefault = createPhoneService({ defaultCountry: 'US' });
      expect(americanDefault.normalize('212-234-5678').e164).toBe('+12122345678');
    });
  });

  describe('normalize, asked again', () => {
    it('answers a repeated spelling the same, as a frozen value', () => {
      const service = createPhoneService();
      const first = service.normalize('091 123 4567');
      const again = service.normalize('091 123 4567');
      expect(again).toEqual(first);
      expect(Object.isFrozen(again)).toBe(true);
    });

    it('keeps the country of national digits apart', () => {
      const service = createPhoneService();
      expect(service.normalize('07400 123456', 'GB').e164).toBe('+447400123456');
      expect(thrown(() => service.normalize('07400 123456', 'ET'))).toBeInstanceOf(
        PhoneInvalidError,
      );
      expect(service.normalize('07400 123456', 'GB').country).toBe('GB');
    });

    it('refuses a refused number every time', () => {
      const service = createPhoneService();
      for (let attempt = 0; attempt < 3; attempt += 1) {
        expect(thrown(() => service.normalize('+251 11 551 7700'))).toBeInstanceOf(
          PhoneTypeNotAllowedError,
        );
      }
    });

    it('stays correct past the number of spellings it keeps', () => {
      const service = createPhoneService();
      const spelling = (index: number) => `+2519${String(10_000_000 + index).slice(-8)}`;
      for (let index = 0; index < 10_050; index += 1) service.normalize(spelling(index));
      expect(service.normalize(spelling(0)).e164).toBe(spelling(0));
      expect(service.normalize(spelling(10_049)).e164).toBe(spelling(10_049));
    });
  });

  describe('countryCode argument', () => {
    it.each([
      ['malformed', 'ETH', 'two-letter ISO 3166-1 alpha-2 code'],
      ['empty', '', 'two-letter ISO 3166-1 alpha-2 code'],
      ['not letters', '2', 'two-letter ISO 3166-1 alpha-2 code'],
      ['unknown', 'ZZ', 'not a known ISO 3166-1 alpha-2 country code'],
      ['unsupported', 'FR', 'Phone numbers from France (FR) are not supported.'],
    ])('refuses a %s countryCode with a 400 kind, even for an E.164 number', (_, code, text) => {
      for (const action of [
        () => phones.normalize('+251911234567', code),
        () => phones.inspect('+251911234567', code),
      ]) {
        const error = thrown(action);
        expect(error).toBeInstanceOf(PhoneCountryNotSupportedError);
        expect(error).toMatchObject({ code: 'PHONE_COUNTRY_NOT_SUPPORTED', kind: 'invalid_input' });
        expect((error as Error).message).toContain(text);
        expect((error as Error).message).toContain('Supported countries: Ethiopia (ET)');
      }
    });

    it('accepts a lower-case countryCode', () => {
      expect(phones.normalize('07400 123456', 'gb').e164).toBe('+447400123456');
    });
  });
});
