import { createPhoneService } from '../../test/support/phones';
import { PhoneInvalidError } from './phone.errors';

/** PhoneService's descriptions of numbers: inspect, the supported countries, number ranges. */
describe('PhoneService descriptions', () => {
  const phones = createPhoneService();

  describe('inspect', () => {
    it('describes an SMS-capable number', () => {
      expect(phones.inspect('0911234567', 'ET')).toEqual({
        valid: true,
        e164: '+251911234567',
        country: 'ET',
        type: 'MOBILE',
        national: '091 123 4567',
        international: '+251 91 123 4567',
        smsCapable: true,
      });
    });

    it('describes a valid landline and says why it cannot receive codes', () => {
      expect(phones.inspect('+251 11 111 2345')).toEqual({
        valid: true,
        e164: '+251111112345',
        country: 'ET',
        type: 'FIXED_LINE',
        national: '011 111 2345',
        international: '+251 11 111 2345',
        smsCapable: false,
        reason: 'Landline numbers cannot receive SMS codes. Use a mobile number.',
        reasonCode: 'PHONE_TYPE_NOT_ALLOWED',
      });
    });

    it('describes a valid number from an unsupported country', () => {
      expect(phones.inspect('+33 6 12 34 56 78')).toMatchObject({
        valid: true,
        e164: '+33612345678',
        country: 'FR',
        type: 'MOBILE',
        smsCapable: false,
        reasonCode: 'PHONE_COUNTRY_NOT_SUPPORTED',
      });
    });

    it.each(['+251 91 123 45', '+٢٥١٩١١٢٣٤٥٦٧', 'x'.repeat(10_000), ''])(
      'reports invalid input %#  without throwing',
      (input) => {
        const inspection = phones.inspect(input);
        expect(inspection).toEqual({
          valid: false,
          e164: null,
          country: null,
          type: null,
          national: null,
          international: null,
          smsCapable: false,
          reason: expect.stringContaining('is not a valid phone number'),
          reasonCode: 'PHONE_INVALID',
        });
      },
    );
  });

  describe('supportedCountries', () => {
    it('lists each supported country with its name, dialing code and an example mobile', () => {
      expect(phones.supportedCountries()).toEqual([
        {
          code: 'ET',
          name: 'Ethiopia',
          dialingCode: '+251',
          exampleNumber: '+251911234567',
          displayFormat: '+251 91 123 4567',
          nationalFormat: '091 123 4567',
        },
        {
          code: 'US',
          name: 'United States',
          dialingCode: '+1',
          exampleNumber: expect.stringMatching(/^\+1\d{10}$/),
          displayFormat: expect.stringMatching(/^\+1 \d{3} \d{3} \d{4}$/),
          nationalFormat: expect.stringMatching(/^\(\d{3}\) \d{3}-\d{4}$/),
        },
        expect.objectContaining({ code: 'GB', name: 'United Kingdom', dialingCode: '+44' }),
        expect.objectContaining({ code: 'CA', name: 'Canada', dialingCode: '+1' }),
        expect.objectContaining({ code: 'AU', name: 'Australia', dialingCode: '+61' }),
      ]);
    });

    it('gives examples that normalize to themselves', () => {
      for (const country of phones.supportedCountries()) {
        expect(country.exampleNumber).not.toBeNull();
        const normalized = phones.normalize(country.displayFormat ?? '');
        expect(normalized.e164).toBe(country.exampleNumber);
        expect(normalized.country).toBe(country.code);
      }
    });

    it('cannot be changed by a caller', () => {
      phones.supportedCountries().pop();
      expect(phones.supportedCountries()).toHaveLength(5);
      expect(phones.defaultCountry()).toBe('ET');
    });
  });

  describe('prefixOf', () => {
    it('drops the last four digits of an E.164 number', () => {
      expect(phones.prefixOf('+251911234567')).toBe('+25191123');
      expect(phones.prefixOf(phones.normalize('+1 416 234 5678').e164)).toBe('+1416234');
    });

    it('refuses anything that is not E.164', () => {
      expect(() => phones.prefixOf('0911234567')).toThrow(PhoneInvalidError);
      expect(() => phones.prefixOf('+251 91 123 4567')).toThrow(PhoneInvalidError);
    });
  });
});
