import { Controller, Get, Req } from '@nestjs/common';
import { FastifyAdapter, NestFastifyApplication } from '@nestjs/platform-fastify';
import { Test, TestingModule } from '@nestjs/testing';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { I18nService } from 'nestjs-i18n';
import supertest from 'supertest';
import { Locale, SUPPORTED_LOCALES } from '../../common/locale';
import { PURPOSES } from '../../common/purpose';
import { smsEncoding } from './sms-encoding';
import { SMS_TEXT_KEYS, SmsTextKey, SmsTextService } from './sms-text.service';
import { findI18nDirectory, SmsTextsModule } from './sms-texts.module';

const I18N_DIRECTORY = findI18nDirectory();
/** The longest values a text must still fit one segment with (Twilio codes are 4–10 digits). */
const LONGEST_CODE = '1234567890';
const LONGEST_MINUTES = 60;

/** Every text shipped in i18n/<locale>/sms.json, read from disk so a new one is covered too. */
function shippedTexts(): { locale: string; key: string; template: string }[] {
  return readdirSync(I18N_DIRECTORY, { withFileTypes: true })
    .filter((entry) => entry.isDirectory())
    .flatMap(({ name: locale }) => {
      const texts = JSON.parse(
        readFileSync(join(I18N_DIRECTORY, locale, 'sms.json'), 'utf8'),
      ) as Record<string, string>;
      return Object.entries(texts).map(([key, template]) => ({ locale, key, template }));
    });
}

async function compileTextsModule(): Promise<TestingModule> {
  const moduleRef = await Test.createTestingModule({ imports: [SmsTextsModule] }).compile();
  await moduleRef.init();
  return moduleRef;
}

describe('SmsTextService', () => {
  let moduleRef: TestingModule;
  let texts: SmsTextService;

  beforeAll(async () => {
    moduleRef = await compileTextsModule();
    texts = moduleRef.get(SmsTextService);
  });

  afterAll(() => moduleRef.close());

  describe.each(SUPPORTED_LOCALES)('in %s', (locale) => {
    it.each(PURPOSES)('renders the %s text with the code and the minutes', (purpose) => {
      const sms = texts.render(purpose, locale, { code: '482913', minutes: 12 });
      expect(sms.locale).toBe(locale);
      expect(sms.body).toContain('482913');
      expect(sms.body).toContain('12');
      expect(sms.body).not.toMatch(/[{}]/);
      expect(sms.segments).toBe(1);
    });

    it('renders the phone_changed notice without any values', () => {
      const sms = texts.render('phone_changed', locale, {});
      expect(sms.body.length).toBeGreaterThan(20);
      expect(sms.body).not.toMatch(/[{}]/);
      expect(sms.segments).toBe(1);
    });
  });

  it('renders the texts of docs/PRODUCT.md#sms-texts word for word', () => {
    expect(texts.render('registration', 'en', { code: '123456', minutes: 10 }).body).toBe(
      'Your verification code is: 123456. Valid for 10 minutes.',
    );
    expect(texts.render('login', 'en', { code: '123456', minutes: 5 }).body).toBe(
      'Your login code is: 123456. Valid for 5 minutes.',
    );
    expect(texts.render('registration', 'am', { code: '123456', minutes: 10 }).body).toBe(
      'የማረጋገጫ ኮድዎ: 123456። ለ10 ደቂቃ ይቆያል።',
    );
  });

  it('reports the encoding and segments of the rendered body', () => {
    const sms = texts.render('two_factor', 'am', { code: LONGEST_CODE, minutes: 5 });
    const { encoding, segments } = smsEncoding(sms.body);
    expect(sms).toMatchObject({ encoding: 'UCS-2', segments: 1 });
    expect({ encoding, segments }).toEqual({ encoding: sms.encoding, segments: sms.segments });
  });

  describe('every shipped text', () => {
    const shipped = shippedTexts();

    it('exists in every supported locale, and only there', () => {
      const locales = [...new Set(shipped.map((text) => text.locale))].sort();
      expect(locales).toEqual([...SUPPORTED_LOCALES].sort());
      for (const locale of SUPPORTED_LOCALES) {
        const keys = shipped.filter((text) => text.locale === locale).map((text) => text.key);
        expect(keys.sort()).toEqual([...SMS_TEXT_KEYS].sort());
      }
    });

    it.each(shipped)(
      '$locale $key fits one segment with a 10-digit code and 2-digit minutes',
      ({ locale, key }) => {
        const sms = texts.render(key as SmsTextKey, locale as Locale, {
          code: LONGEST_CODE,
          minutes: LONGEST_MINUTES,
        });
        expect(sms.locale).toBe(locale);
        expect(sms.segments).toBe(1);
        expect(sms.body.length).toBeLessThanOrEqual(sms.encoding === 'GSM-7' ? 160 : 70);
      },
    );

    it.each(shipped.filter((text) => text.locale !== 'am'))(
      '$locale $key stays GSM-7 (French wording avoids ç, ê, â, î, ô and û)',
      ({ template }) => {
        expect(smsEncoding(template).encoding).toBe('GSM-7');
      },
    );

    it.each(shipped.filter((text) => text.locale === 'am'))(
      "am $key is UCS-2 (Ge'ez script)",
      ({ template }) => {
        expect(smsEncoding(template).encoding).toBe('UCS-2');
      },
    );

    it.each(shipped)('$locale $key uses straight apostrophes and plain spaces', ({ template }) => {
      expect(template).not.toMatch(/[\u2018\u2019\u00a0\u202f]/);
    });
  });

  describe('refuses to send a text with a hole in it', () => {
    it.each([
      [{ minutes: 10 }, /numeric code/],
      [{ code: '', minutes: 10 }, /numeric code/],
      [{ code: '12a4', minutes: 10 }, /numeric code/],
      [{ code: '1234' }, /whole number of minutes/],
      [{ code: '1234', minutes: 0 }, /whole number of minutes/],
      [{ code: '1234', minutes: 2.5 }, /whole number of minutes/],
    ])('%j', (params, message) => {
      expect(() => texts.render('login', 'fr', params)).toThrow(message);
    });
  });
});

describe('SmsTextService when a locale lacks a text', () => {
  let moduleRef: TestingModule;

  beforeAll(async () => {
    moduleRef = await compileTextsModule();
    const i18n = moduleRef.get<I18nService>(I18nService);
    const translations = i18n.getTranslations();
    await i18n.refresh(
      { ...translations, fr: { sms: { registration: 'Code : {code} ({minutes} min)' } } },
      [...SUPPORTED_LOCALES],
    );
  });

  afterAll(() => moduleRef.close());

  it('sends the English text and says so', () => {
    const sms = moduleRef.get(SmsTextService).render('login', 'fr', { code: '1234', minutes: 5 });
    expect(sms).toMatchObject({
      locale: 'en',
      body: 'Your login code is: 1234. Valid for 5 minutes.',
    });
  });
});

describe('SmsTextsModule', () => {
  it('finds the i18n folder from the sources and from the compiled output', () => {
    const root = dirname(I18N_DIRECTORY);
    expect(findI18nDirectory(join(root, 'src', 'sms', 'texts'))).toBe(I18N_DIRECTORY);
    expect(findI18nDirectory(join(root, 'dist', 'src', 'sms', 'texts'))).toBe(I18N_DIRECTORY);
  });

  it('leaves other routes alone: no language middleware or interceptor on requests', async () => {
    @Controller()
    class ProbeController {
      @Get('probe')
      probe(@Req() request: { raw: Record<string, unknown> } & Record<string, unknown>) {
        return {
          onRequest: 'i18nLang' in request || 'i18nContext' in request,
          onRawRequest: 'i18nLang' in request.raw,
        };
      }
    }
    const moduleRef = await Test.createTestingModule({
      imports: [SmsTextsModule],
      controllers: [ProbeController],
    }).compile();
    const app = moduleRef.createNestApplication<NestFastifyApplication>(new FastifyAdapter(), {
      logger: false,
    });
    await app.init();
    await app.getHttpAdapter().getInstance().ready();
    try {
      const response = await supertest(app.getHttpServer()).get('/probe').expect(200);
      expect(response.body).toEqual({ onRequest: false, onRawRequest: false });
    } finally {
      await app.close();
    }
  });
});
