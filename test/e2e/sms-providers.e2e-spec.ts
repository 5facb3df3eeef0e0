import { DataSource } from 'typeorm';
import { FakeTwilioServer } from '../fakes/fake-twilio-server';
import { TestApp, startTestApp } from '../support/test-app';
import { RELAXED_LIMITS } from '../support/relaxed-limits';
import { TEST_TWILIO } from '../support/twilio-test-credentials';

const AMHARIC_REGISTRATION = /^የማረጋገጫ ኮድዎ: (\d{6})። ለ10 ደቂቃ ይቆያል።$/;

function credentials(fake: FakeTwilioServer): Record<string, string> {
  return {
    TWILIO_ACCOUNT_SID: TEST_TWILIO.accountSid,
    TWILIO_AUTH_TOKEN: TEST_TWILIO.authToken,
    TWILIO_API_BASE_URL: fake.url,
    TWILIO_TIMEOUT_MS: '800',
  };
}

describe('Twilio Messaging with our localized texts', () => {
  let fake: FakeTwilioServer;
  let service: TestApp;

  beforeAll(async () => {
    fake = await FakeTwilioServer.start({
      accountSid: TEST_TWILIO.accountSid,
      authToken: TEST_TWILIO.authToken,
    });
    service = await startTestApp({
      skipAccountFilter: true,
      env: {
        ...RELAXED_LIMITS,
        ...credentials(fake),
        SMS_PROVIDER: 'twilio-messaging',
        TWILIO_FROM: 'MyBrand',
        PUBLIC_BASE_URL: 'https://sms.example.com/',
      },
    });
  });
  afterAll(async () => {
    await service.close();
    await fake.stop();
  });
  beforeEach(() => fake.reset());

  it('sends one Amharic message with a 6-digit code that verifies', async () => {
    const phoneNumber = '+251911234567';
    await service
      .http()
      .post('/sms/send-verification')
      .send({ phoneNumber, purpose: 'registration', locale: 'am' })
      .expect(200);
    expect(fake.messages).toHaveLength(1);
    const [message] = fake.messages;
    expect(message).toMatchObject({
      to: phoneNumber,
      from: 'MyBrand',
      validityPeriod: 600,
      statusCallback: 'https://sms.example.com/webhooks/twilio/status',
    });
    const code = AMHARIC_REGISTRATION.exec(message.body)?.[1];
    expect(code).toMatch(/^\d{6}$/);

    const approved = await service
      .http()
      .post('/sms/verify-code')
      .send({ phoneNumber, code, purpose: 'registration' })
      .expect(200);
    expect(approved.body).toMatchObject({ status: 'approved', valid: true });
    expect(approved.body.verification_token).toEqual(expect.any(String));
  });

  it('stores only HMACs: no number or code in the verification row', async () => {
    const phoneNumber = '+251911234568';
    await service
      .http()
      .post('/sms/send-verification')
      .send({ phoneNumber, purpose: 'login' })
      .expect(200);
    const code = /(\d{6})/.exec(fake.lastMessageTo(phoneNumber)!.body)![1];
    const rows = await service.app.get(DataSource).query(`SELECT * FROM sms_verifications`);
    const dump = JSON.stringify(rows);
    expect(dump).not.toContain('911234568');
    expect(dump).not.toContain(code);
  });

  it('picks the language: body locale, then Accept-Language, then the country default', async () => {
    const ethiopian = '+251911234569';
    await service
      .http()
      .post('/sms/send-verification')
      .send({ phoneNumber: ethiopian, purpose: 'login' })
      .expect(200);
    expect(fake.lastMessageTo(ethiopian)!.body).toMatch(/[\u1200-\u137F]/);

    const french = '+251911234570';
    await service
      .http()
      .post('/sms/send-verification')
      .set('Accept-Language', 'fr-CA,fr;q=0.9,en;q=0.5')
      .send({ phoneNumber: french, purpose: 'login' })
      .expect(200);
    expect(fake.lastMessageTo(french)!.body).toMatch(/code/i);
    expect(fake.lastMessageTo(french)!.body).not.toMatch(/[\u1200-\u137F]/);
    expect(fake.lastMessageTo(french)!.body).not.toMatch(/Your/);

    const english = '+12125550123';
    await service
      .http()
      .post('/sms/send-verification')
      .send({ phoneNumber: english, purpose: 'password_reset' })
      .expect(200);
    expect(fake.lastMessageTo(english)!.body).toMatch(
      /^Your password reset code is: \d{6}\. Valid for 15 minutes\.$/,
    );
  });

  it('answers a Twilio outage with 503 and Retry-After, and leaves nothing live', async () => {
    const phoneNumber = '+251911234571';
    fake.failNext(1, { status: 503 });
    const failed = await service
      .http()
      .post('/sms/send-verification')
      .send({ phoneNumber, purpose: 'login' })
      .expect(503);
    expect(failed.body).toMatchObject({
      success: false,
      error: 'SMS_PROVIDER_UNAVAILABLE',
      retryAfter: 30,
    });
    expect(failed.headers['retry-after']).toBe('30');
    await service
      .http()
      .post('/sms/verify-code')
      .send({ phoneNumber, code: '123456', purpose: 'login' })
      .expect(404);
    await service
      .http()
      .post('/sms/send-verification')
      .send({ phoneNumber, purpose: 'login' })
      .expect(200);
  });

  it('answers a Twilio timeout with 503', async () => {
    fake.failNext(1, { delayMs: 2_000 });
    const response = await service
      .http()
      .post('/sms/send-verification')
      .send({ phoneNumber: '+251911234572', purpose: 'login' })
      .expect(503);
    expect(response.body.error).toBe('SMS_PROVIDER_UNAVAILABLE');
  });

  it('passes Twilio rate limiting on as 429 with retryAfter', async () => {
    fake.failNext(1, { status: 429, code: 20429 });
    const response = await service
      .http()
      .post('/sms/send-verification')
      .send({ phoneNumber: '+251911234573', purpose: 'login' })
      .expect(429);
    expect(response.body).toMatchObject({ success: false, retryAfter: expect.any(Number) });
    expect(response.headers['retry-after']).toBeDefined();
  });

  it('refuses a Fraud Guard block without saying why', async () => {
    fake.failNext(1, { status: 400, code: 60410 });
    const response = await service
      .http()
      .post('/sms/send-verification')
      .send({ phoneNumber: '+251911234574', purpose: 'login' })
      .expect(400);
    expect(response.body).toEqual({
      success: false,
      error: 'SMS_DESTINATION_REFUSED',
      message: 'This number cannot receive verification codes.',
    });
  });

  it('keeps the previous code valid when a resend fails', async () => {
    const phoneNumber = '+251911234575';
    await service
      .http()
      .post('/sms/send-verification')
      .send({ phoneNumber, purpose: 'login' })
      .expect(200);
    const code = /(\d{6})/.exec(fake.lastMessageTo(phoneNumber)!.body)![1];
    fake.failNext(1, { status: 500 });
    await service
      .http()
      .post('/sms/send-verification')
      .send({ phoneNumber, purpose: 'login' })
      .expect(503);
    await service
      .http()
      .post('/sms/verify-code')
      .send({ phoneNumber, code, purpose: 'login' })
      .expect(200);
  });
});

describe('Twilio Verify, with Messaging for languages Verify lacks', () => {
  let fake: FakeTwilioServer;
  let service: TestApp;

  beforeAll(async () => {
    fake = await FakeTwilioServer.start({
      accountSid: TEST_TWILIO.accountSid,
      authToken: TEST_TWILIO.authToken,
    });
    service = await startTestApp({
      skipAccountFilter: true,
      env: {
        ...RELAXED_LIMITS,
        ...credentials(fake),
        SMS_PROVIDER: 'twilio-verify',
        TWILIO_VERIFY_SERVICE_SID: TEST_TWILIO.verifyServiceSid,
        TWILIO_MESSAGING_SERVICE_SID: TEST_TWILIO.messagingServiceSid,
      },
    });
  });
  afterAll(async () => {
    await service.close();
    await fake.stop();
  });
  beforeEach(() => fake.reset());

  it('sends English through Verify with its locale', async () => {
    const phoneNumber = '+251911234580';
    const response = await service
      .http()
      .post('/sms/send-verification')
      .send({ phoneNumber, purpose: 'login', locale: 'en' })
      .expect(200);
    expect(fake.verifications).toHaveLength(1);
    expect(fake.verifications[0]).toMatchObject({ to: phoneNumber, locale: 'en', channel: 'sms' });
    expect(response.body.sid).toBe(fake.verifications[0].sid);
    expect(fake.messages).toHaveLength(0);
    const code = fake.codeFor(phoneNumber);
    await service
      .http()
      .post('/sms/verify-code')
      .send({ phoneNumber, code, purpose: 'login' })
      .expect(200);
  });

  it('sends Amharic through Messaging with our text', async () => {
    const phoneNumber = '+251911234581';
    await service
      .http()
      .post('/sms/send-verification')
      .send({ phoneNumber, purpose: 'registration', locale: 'am' })
      .expect(200);
    expect(fake.verifications).toHaveLength(0);
    expect(fake.messages).toHaveLength(1);
    expect(fake.messages[0].messagingServiceSid).toBe(TEST_TWILIO.messagingServiceSid);
    const code = AMHARIC_REGISTRATION.exec(fake.messages[0].body)?.[1];
    await service
      .http()
      .post('/sms/verify-code')
      .send({ phoneNumber, code, purpose: 'registration' })
      .expect(200);
  });

  it('does not spend an attempt when the Verify check fails upstream', async () => {
    const phoneNumber = '+251911234582';
    await service
      .http()
      .post('/sms/send-verification')
      .send({ phoneNumber, purpose: 'login', locale: 'en' })
      .expect(200);
    fake.failNext(1, { status: 503 });
    await service
      .http()
      .post('/sms/verify-code')
      .send({ phoneNumber, code: '000000', purpose: 'login' })
      .expect(503);
    const [row] = await service.app
      .get(DataSource)
      .query(`SELECT attempts FROM sms_verifications WHERE twilio_sid = $1`, [
        fake.verifications[0].sid,
      ]);
    expect(row.attempts).toBe(0);
    const code = fake.codeFor(phoneNumber);
    await service
      .http()
      .post('/sms/verify-code')
      .send({ phoneNumber, code, purpose: 'login' })
      .expect(200);
  });
});

describe('QA test numbers', () => {
  let fake: FakeTwilioServer;
  let service: TestApp;

  beforeAll(async () => {
    fake = await FakeTwilioServer.start({
      accountSid: TEST_TWILIO.accountSid,
      authToken: TEST_TWILIO.authToken,
    });
    service = await startTestApp({
      skipAccountFilter: true,
      env: {
        ...RELAXED_LIMITS,
        ...credentials(fake),
        SMS_PROVIDER: 'twilio-verify',
        TWILIO_VERIFY_SERVICE_SID: TEST_TWILIO.verifyServiceSid,
        SMS_TEST_NUMBERS: '+251911000001:123456,+251911000002:654321',
      },
    });
  });
  afterAll(async () => {
    await service.close();
    await fake.stop();
  });

  it('answer with their fixed code and send nothing', async () => {
    const phoneNumber = '+251911000001';
    await service
      .http()
      .post('/sms/send-verification')
      .send({ phoneNumber, purpose: 'login' })
      .expect(200);
    expect(fake.requests).toHaveLength(0);
    await service
      .http()
      .post('/sms/verify-code')
      .send({ phoneNumber, code: '654321', purpose: 'login' })
      .expect(200);
    const approved = await service
      .http()
      .post('/sms/verify-code')
      .send({ phoneNumber, code: '123456', purpose: 'login' })
      .expect(200);
    expect(approved.body.status).toBe('approved');
  });

  it('are announced at boot without listing the numbers', () => {
    const announcement = service.logs.find((line) => String(line.msg).includes('SMS_TEST_NUMBERS'));
    expect(announcement).toBeDefined();
    expect(JSON.stringify(announcement)).not.toContain('911000001');
  });
});

describe('Swagger documentation of the SMS endpoints', () => {
  let service: TestApp;

  beforeAll(async () => {
    service = await startTestApp({ skipAccountFilter: true });
  });
  afterAll(() => service.close());

  it.each([
    ['/sms/send-verification', ['200', '400', '429', '503']],
    ['/sms/verify-code', ['200', '400', '404', '429', '503']],
  ])('documents %s with an example body and every error response', async (path, statuses) => {
    const document = (await service.http().get('/docs-json').expect(200)).body;
    const operation = document.paths[path].post;
    expect(Object.keys(operation.responses)).toEqual(expect.arrayContaining(statuses));
    const schemaName = operation.requestBody.content['application/json'].schema.$ref
      .split('/')
      .pop();
    const schema = document.components.schemas[schemaName];
    expect(schema.properties.phoneNumber.example).toBe('+251911234567');
    expect(schema.properties.purpose.enum).toEqual([
      'registration',
      'login',
      'password_reset',
      'two_factor',
    ]);
    expect(schema.properties.twilioConfig).toBeUndefined();
  });
});
