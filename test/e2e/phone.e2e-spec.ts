import { TestApp, startTestApp } from '../support/test-app';

describe('Phone numbers (HTTP)', () => {
  let service: TestApp;

  beforeAll(async () => {
    service = await startTestApp({
      env: { DEFAULT_COUNTRY_CODE: 'ET', SUPPORTED_COUNTRIES: 'ET,US,GB,CA,AU' },
    });
  });
  afterAll(() => service.close());

  describe('GET /phone/countries', () => {
    it('lists the supported countries with dialing codes and example numbers', async () => {
      const response = await service.http().get('/phone/countries').expect(200);
      expect(response.body.defaultCountry).toBe('ET');
      expect(response.body.countries.map((country: { code: string }) => country.code)).toEqual([
        'ET',
        'US',
        'GB',
        'CA',
        'AU',
      ]);
      expect(response.body.countries[0]).toEqual({
        code: 'ET',
        name: 'Ethiopia',
        dialingCode: '+251',
        exampleNumber: '+251911234567',
        displayFormat: '+251 91 123 4567',
        nationalFormat: '091 123 4567',
      });
      expect(response.body.countries[3]).toMatchObject({ name: 'Canada', dialingCode: '+1' });
    });
  });

  describe('POST /phone/validate', () => {
    it.each([
      [{ phoneNumber: '+251 91 123 4567' }],
      [{ phoneNumber: '0911234567', countryCode: 'ET' }],
      [{ phoneNumber: '00251911234567' }],
      [{ phoneNumber: '+251-911-234-567' }],
    ])('normalizes %j to one E.164 number', async (body) => {
      const response = await service.http().post('/phone/validate').send(body).expect(200);
      expect(response.body).toEqual({
        valid: true,
        e164: '+251911234567',
        country: 'ET',
        type: 'MOBILE',
        national: '091 123 4567',
        international: '+251 91 123 4567',
        smsCapable: true,
      });
    });

    it('detects Canada from a +1 area code', async () => {
      const response = await service
        .http()
        .post('/phone/validate')
        .send({ phoneNumber: '(416) 234-5678', countryCode: 'US' })
        .expect(200);
      expect(response.body).toMatchObject({
        valid: true,
        e164: '+14162345678',
        country: 'CA',
        type: 'FIXED_LINE_OR_MOBILE',
        smsCapable: true,
      });
    });

    it('answers 200 for an invalid number, saying how to write it', async () => {
      const response = await service
        .http()
        .post('/phone/validate')
        .send({ phoneNumber: '+251 91 123' })
        .expect(200);
      expect(response.body).toEqual({
        valid: false,
        e164: null,
        country: null,
        type: null,
        national: null,
        international: null,
        smsCapable: false,
        reason: expect.stringContaining('not a valid phone number'),
        reasonCode: 'PHONE_INVALID',
      });
      expect(response.body.reason).toContain('national digits with countryCode');
    });

    it('answers 200 for non-ASCII digits, refused as invalid', async () => {
      const response = await service
        .http()
        .post('/phone/validate')
        .send({ phoneNumber: '+٢٥١٩١١٢٣٤٥٦٧' })
        .expect(200);
      expect(response.body).toMatchObject({ valid: false, reasonCode: 'PHONE_INVALID' });
    });

    it('reports a valid landline as unable to receive codes', async () => {
      const response = await service
        .http()
        .post('/phone/validate')
        .send({ phoneNumber: '+251 11 111 2345' })
        .expect(200);
      expect(response.body).toMatchObject({
        valid: true,
        e164: '+251111112345',
        type: 'FIXED_LINE',
        smsCapable: false,
        reason: 'Landline numbers cannot receive SMS codes. Use a mobile number.',
        reasonCode: 'PHONE_TYPE_NOT_ALLOWED',
      });
    });

    it('reports a number from an unsupported country', async () => {
      const response = await service
        .http()
        .post('/phone/validate')
        .send({ phoneNumber: '+33 6 12 34 56 78' })
        .expect(200);
      expect(response.body).toMatchObject({
        valid: true,
        country: 'FR',
        smsCapable: false,
        reasonCode: 'PHONE_COUNTRY_NOT_SUPPORTED',
      });
    });

    it('answers an unknown field with 400 in the error envelope', async () => {
      const response = await service
        .http()
        .post('/phone/validate')
        .send({ phoneNumber: '+251911234567', extra: true })
        .expect(400);
      expect(response.body).toMatchObject({
        success: false,
        message: expect.stringContaining('extra'),
        error: 'VALIDATION_FAILED',
      });
    });

    it.each([
      ['a missing phoneNumber', {}],
      ['a non-string phoneNumber', { phoneNumber: 251911234567 }],
      ['an over-long phoneNumber', { phoneNumber: '9'.repeat(10_000) }],
      ['a malformed countryCode', { phoneNumber: '0911234567', countryCode: 'ETH' }],
      ['a null countryCode', { phoneNumber: '0911234567', countryCode: null }],
    ])('answers %s with 400 VALIDATION_FAILED', async (_name, body) => {
      const response = await service.http().post('/phone/validate').send(body).expect(400);
      expect(response.body).toMatchObject({ success: false, error: 'VALIDATION_FAILED' });
      expect(response.body.message).toEqual(expect.any(String));
    });

    it('answers an unsupported countryCode with 400 listing the supported countries', async () => {
      const response = await service
        .http()
        .post('/phone/validate')
        .send({ phoneNumber: '0612345678', countryCode: 'FR' })
        .expect(400);
      expect(response.body).toEqual({
        success: false,
        message: expect.stringContaining('Supported countries: Ethiopia (ET)'),
        error: 'PHONE_COUNTRY_NOT_SUPPORTED',
      });
    });

    it('never writes the number to the logs', async () => {
      await service
        .http()
        .post('/phone/validate')
        .send({ phoneNumber: '+251 97 765 4321' })
        .expect(200);
      expect(JSON.stringify(service.logs)).not.toMatch(/9\s*7\s*7\s*6\s*5\s*4\s*3\s*2\s*1/);
    });
  });

  it('documents both routes in the OpenAPI document', async () => {
    const document = await service.http().get('/docs-json').expect(200);
    const validate = document.body.paths['/phone/validate'].post;
    expect(Object.keys(validate.responses)).toEqual(expect.arrayContaining(['200', '400']));
    expect(document.body.paths['/phone/countries'].get.responses['200']).toBeDefined();
    expect(document.body.components.schemas.ValidatePhoneDto.properties.phoneNumber.example).toBe(
      '+251 91 123 4567',
    );
  });
});
