import {
  acceptedLanguageTags,
  LocaleResolverConfig,
  MAX_ACCEPT_LANGUAGE_LENGTH,
  resolveLocale,
} from './locale-resolver';

const config: LocaleResolverConfig = {
  defaultLocale: 'en',
  countryLocales: new Map([['ET', 'am']]),
};

describe('resolveLocale', () => {
  describe('the locale in the request body', () => {
    it.each([
      ['fr', 'fr'],
      ['am', 'am'],
      ['am-ET', 'am'],
      ['fr_CA', 'fr'],
      ['FR-ca', 'fr'],
      [' en ', 'en'],
    ])('uses a supported locale %j as %s', (requested, expected) => {
      expect(resolveLocale({ requested, acceptLanguage: 'en', country: 'US' }, config)).toBe(
        expected,
      );
    });

    it('wins over Accept-Language and the country', () => {
      expect(resolveLocale({ requested: 'fr', acceptLanguage: 'en', country: 'ET' }, config)).toBe(
        'fr',
      );
    });

    it.each(['de', 'de-DE', '', 'am-', 'x'.repeat(200), 'am ET', '../am'])(
      'falls through when it is unsupported or malformed (%j)',
      (requested) => {
        expect(resolveLocale({ requested, acceptLanguage: 'fr' }, config)).toBe('fr');
        expect(resolveLocale({ requested, country: 'ET' }, config)).toBe('am');
      },
    );
  });

  describe('the Accept-Language header', () => {
    it.each([
      ['fr-CA,fr;q=0.9,en;q=0.8', 'fr'],
      ['de-DE,de;q=0.9,am;q=0.5,en;q=0.4', 'am'],
      ['en;q=0.5, fr;q=0.9', 'fr'],
      ['fr;q=0.8, en;q=0.8', 'fr'],
      ['en;q=0.8, fr;q=0.8', 'en'],
      ['*, am;q=0.1', 'am'],
      ['fr;q=0, en;q=0.1', 'en'],
      ['fr;q=0.000, am;q=0.001', 'am'],
      ['  FR-ca ;  Q=0.7  ', 'fr'],
      ['fr;q=1.000', 'fr'],
    ])('picks the best supported language of %j', (acceptLanguage, expected) => {
      expect(resolveLocale({ acceptLanguage, country: 'US' }, config)).toBe(expected);
    });

    it('wins over the country', () => {
      expect(resolveLocale({ acceptLanguage: 'fr', country: 'ET' }, config)).toBe('fr');
    });

    it.each([
      '*',
      'de, es;q=0.9',
      'fr;q=0',
      'fr;q=1.5',
      'fr;q=abc',
      'fr;q=0.1234',
      'fr;q',
      'fr;level=1',
      'fr;q=0.5=1',
      ';;;,,,',
      '12, am1',
      'fr/../../etc',
      '',
    ])('falls through to the country when %j offers nothing usable', (acceptLanguage) => {
      expect(resolveLocale({ acceptLanguage, country: 'ET' }, config)).toBe('am');
    });

    it('ignores a header longer than any real browser sends', () => {
      const acceptLanguage = `fr,${'de;q=0.5,'.repeat(MAX_ACCEPT_LANGUAGE_LENGTH / 8)}`;
      expect(acceptLanguage.length).toBeGreaterThan(MAX_ACCEPT_LANGUAGE_LENGTH);
      expect(resolveLocale({ acceptLanguage, country: 'ET' }, config)).toBe('am');
    });
  });

  describe('the country and the default', () => {
    it.each([
      ['ET', 'am'],
      ['et', 'am'],
      [' ET ', 'am'],
      ['US', 'en'],
      ['ZZ', 'en'],
      ['', 'en'],
    ])('uses the locale of country %j, else the default (%s)', (country, expected) => {
      expect(resolveLocale({ country }, config)).toBe(expected);
    });

    it('uses the configured default when nothing else decides', () => {
      expect(resolveLocale({}, { ...config, defaultLocale: 'fr' })).toBe('fr');
    });

    it('ignores a country mapped to a locale without texts', () => {
      const countryLocales = new Map<string, string>([
        ['DE', 'de'],
      ]) as LocaleResolverConfig['countryLocales'];
      expect(resolveLocale({ country: 'DE' }, { defaultLocale: 'en', countryLocales })).toBe('en');
    });
  });
});

describe('acceptedLanguageTags', () => {
  it('orders tags by weight, keeping the header order between equal weights', () => {
    expect(
      acceptedLanguageTags('de;q=0.5, fr-CA, *;q=0.9, en;q=0.5, am;q=0, xx;q=bad, es'),
    ).toEqual(['fr-CA', 'es', 'de', 'en']);
  });

  it('returns nothing for a missing header', () => {
    expect(acceptedLanguageTags(undefined)).toEqual([]);
  });
});
