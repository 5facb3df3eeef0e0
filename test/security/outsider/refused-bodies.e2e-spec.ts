import supertest from 'supertest';
import { createUser } from '../../factories/user.factory';
import { FakeTwilioServer } from '../../fakes/fake-twilio-server';
import { AuthClient, authTestEnvironment } from '../../support/auth-client';
import { RELAXED_LIMITS } from '../../support/relaxed-limits';
import { TestApp, startTestApp } from '../../support/test-app';
import { TEST_TWILIO } from '../../support/twilio-test-credentials';

/**
 * Issue 14 item 5: a request refused for its body (400) must cost nothing. An attacker who knows a
 * victim's number posts malformed bodies naming it, from the victim's own address (a carrier NAT
 * shares one), before the victim asks. Every limit that could be spent is set to ONE, so any
 * counting of a refused body would turn the victim's next, valid request into a 429.
 *
 * The generic per-route HTTP throttle (HTTP_THROTTLE_LIMIT) still counts refused bodies on
 * purpose: it is the client's own flood budget, keyed on its address, and stays relaxed here.
 */

const PASSWORD = 'lantern-mosaic-47';
const NEW_PASSWORD = 'quiet-harbor-lamp-19';
const VALIDATION_FAILED = { success: false, error: 'VALIDATION_FAILED' };

let phoneCounter = 0;
/** A number range of its own per number: the range layer is set to one send too. */
function nextPhone(): string {
  phoneCounter += 1;
  return `+2519${String(60 + phoneCounter).padStart(3, '0')}${String(phoneCounter).padStart(5, '0')}`;
}

let addressCounter = 0;
/** One client address per story: the victim, and the attacker behind the same NAT. */
function nextAddress(): string {
  addressCounter += 1;
  return `203.0.113.${addressCounter}`;
}

async function start(
  fake: FakeTwilioServer,
  env: Record<string, string>,
  options: { accountFilter: boolean },
): Promise<TestApp> {
  return startTestApp({
    skipAccountFilter: !options.accountFilter,
    env: {
      ...RELAXED_LIMITS,
      ...authTestEnvironment(fake),
      TRUST_PROXY: '127.0.0.1,::1',
      ...env,
    },
  });
}

/** Posts each refused body, expecting 400 VALIDATION_FAILED for every one. */
async function postRefused(
  post: (body: object) => supertest.Test,
  bodies: object[],
): Promise<void> {
  for (const body of bodies) {
    const response = await post(body);
    expect({ body, status: response.status }).toEqual({ body, status: 400 });
    expect(response.body).toMatchObject(VALIDATION_FAILED);
  }
}

describe('A refused request spends nothing: /sms/send-verification', () => {
  let fake: FakeTwilioServer;
  let service: TestApp;

  beforeAll(async () => {
    fake = await FakeTwilioServer.start({
      accountSid: TEST_TWILIO.accountSid,
      authToken: TEST_TWILIO.authToken,
    });
    // Every send layer at one: per client IP, distinct numbers per IP, the resend cooldown, per
    // phone, per purpose, per range, per country and global.
    service = await start(
      fake,
      {
        SMS_IP_LIMIT: '1',
        SMS_IP_DISTINCT_PHONES: '1',
        SMS_RESEND_COOLDOWNS: '300',
        SMS_RATE_LIMIT_MAX_ATTEMPTS: '1',
        SMS_PURPOSE_LIMITS: 'registration:1,login:1,password_reset:1,two_factor:1',
        SMS_PREFIX_LIMIT: '1',
        SMS_COUNTRY_LIMITS: 'ET:1',
        SMS_RATE_LIMIT_GLOBAL_MAX: '1',
      },
      { accountFilter: false },
    );
  });
  afterAll(async () => {
    await service.close();
    await fake.stop();
  });

  it('answers 400 to every malformed body, and the owner still gets their code', async () => {
    const victim = nextPhone();
    const address = nextAddress();
    const send = (body: object) =>
      service.http().post('/sms/send-verification').set('X-Forwarded-For', address).send(body);
    const valid = { phoneNumber: victim, purpose: 'login' };

    await postRefused(send, [
      { ...valid, bogus: 1 },
      { ...valid, locale: 42 },
      { ...valid, locale: 'x'.repeat(36) },
      { ...valid, countryCode: 'ETH' },
      { ...valid, purpose: 'login ' },
      { ...valid, phoneNumber: ['+251911234567'] },
      { ...valid, phoneNumber: `${victim}${'0'.repeat(30)}` },
      { ...valid, extra: {} },
      // null for an optional field once passed validation and failed later, with a 500.
      { ...valid, locale: null },
      { ...valid, countryCode: null },
    ]);
    expect(fake.messages.filter((message) => message.to === victim)).toHaveLength(0);

    const own = await send(valid);
    expect(own.status).toBe(200);
    expect(own.body).toMatchObject({ to: victim, status: 'pending' });
    expect(own.headers['ratelimit-remaining']).toBe('0');
    expect(fake.messages.filter((message) => message.to === victim)).toHaveLength(1);
  });
});

describe('A refused request spends nothing: /sms/verify-code', () => {
  let fake: FakeTwilioServer;
  let service: TestApp;
  let client: AuthClient;

  beforeAll(async () => {
    fake = await FakeTwilioServer.start({
      accountSid: TEST_TWILIO.accountSid,
      authToken: TEST_TWILIO.authToken,
    });
    // One code check per phone and per client IP, one wrong code per verification.
    service = await start(
      fake,
      { SMS_VERIFY_PHONE_LIMIT: '1', SMS_VERIFY_IP_LIMIT: '1', SMS_MAX_ATTEMPTS: '1' },
      { accountFilter: false },
    );
    client = new AuthClient(service, fake);
  });
  afterAll(async () => {
    await service.close();
    await fake.stop();
  });

  it('answers 400 to every malformed check, and the owner’s right code is still approved', async () => {
    const victim = nextPhone();
    const address = nextAddress();
    const code = await client.code(victim, 'login');
    const verify = (body: object) =>
      service.http().post('/sms/verify-code').set('X-Forwarded-For', address).send(body);
    const valid = { phoneNumber: victim, code, purpose: 'login' };

    await postRefused(verify, [
      { ...valid, bogus: 1 },
      { ...valid, code: 'abcdef' },
      { ...valid, code: '12' },
      { ...valid, code: Number(code) },
      { ...valid, code: `${code} ` },
      { ...valid, purpose: 'signup' },
      { ...valid, countryCode: 'ETH' },
      { ...valid, countryCode: null },
    ]);

    const own = await verify(valid);
    expect(own.status).toBe(200);
    expect(own.body).toMatchObject({ status: 'approved', valid: true });
  });
});

describe('A refused request spends nothing: the /auth routes that check codes or passwords', () => {
  let fake: FakeTwilioServer;
  let service: TestApp;
  let client: AuthClient;

  beforeAll(async () => {
    fake = await FakeTwilioServer.start({
      accountSid: TEST_TWILIO.accountSid,
      authToken: TEST_TWILIO.authToken,
    });
    // One password attempt and one code check per phone and per client IP, one wrong code per
    // verification: a refused body that counted would leave nothing for the owner.
    service = await start(
      fake,
      {
        AUTH_PASSWORD_ATTEMPTS_LIMIT: '1',
        AUTH_PASSWORD_IP_ATTEMPTS_LIMIT: '1',
        SMS_VERIFY_PHONE_LIMIT: '1',
        SMS_VERIFY_IP_LIMIT: '1',
        SMS_MAX_ATTEMPTS: '1',
      },
      { accountFilter: true },
    );
    client = new AuthClient(service, fake);
  });
  afterAll(async () => {
    await service.close();
    await fake.stop();
  });

  /** Posts from one client address (the victim's, shared with the attacker), with a token. */
  function from(address: string, accessToken?: string) {
    return (path: string) => (body: object) => {
      const request = service.http().post(path).set('X-Forwarded-For', address);
      if (accessToken) request.set('Authorization', `Bearer ${accessToken}`);
      return request.send(body);
    };
  }

  /** A session for an account, set up from an address of its own (it spends that one's budget). */
  async function sessionOf(phoneNumber: string): Promise<string> {
    const login = await from(nextAddress())('/auth/login')({ phoneNumber, password: PASSWORD });
    expect(login.status).toBe(200);
    return login.body.accessToken as string;
  }

  it('POST /auth/register', async () => {
    const phoneNumber = nextPhone();
    const code = await client.code(phoneNumber, 'registration');
    const post = from(nextAddress())('/auth/register');
    const valid = { phoneNumber, password: PASSWORD, code };
    await postRefused(post, [
      { ...valid, bogus: 1 },
      { ...valid, code: 'abcdef' },
      { ...valid, password: 12345678 },
      { ...valid, verificationToken: 'vt_0123456789abcdefghij' },
      { ...valid, countryCode: 'Ethiopia' },
      { ...valid, countryCode: null },
      { ...valid, verificationToken: null },
    ]);
    expect((await post(valid)).status).toBe(200);
  });

  it('POST /auth/login', async () => {
    const phoneNumber = nextPhone();
    await createUser(service, { phoneNumber, password: PASSWORD });
    const post = from(nextAddress())('/auth/login');
    const valid = { phoneNumber, password: PASSWORD };
    await postRefused(post, [
      { ...valid, bogus: 1 },
      { ...valid, password: ['x'] },
      { ...valid, password: 'x'.repeat(1025) },
      { ...valid, phoneNumber: 251911234567 },
      { ...valid, countryCode: 'E1' },
      { ...valid, countryCode: null },
    ]);
    expect((await post(valid)).status).toBe(200);
  });

  it('POST /auth/login-sms', async () => {
    const phoneNumber = nextPhone();
    await createUser(service, { phoneNumber, password: PASSWORD });
    const code = await client.code(phoneNumber, 'login');
    const post = from(nextAddress())('/auth/login-sms');
    const valid = { phoneNumber, code };
    await postRefused(post, [
      { ...valid, bogus: 1 },
      { ...valid, code: `${code}x` },
      { phoneNumber },
      { ...valid, verificationToken: 'vt_0123456789abcdefghij' },
      { ...valid, countryCode: null },
    ]);
    expect((await post(valid)).status).toBe(200);
  });

  it('POST /auth/reset-password-sms', async () => {
    const phoneNumber = nextPhone();
    await createUser(service, { phoneNumber, password: PASSWORD });
    const code = await client.code(phoneNumber, 'password_reset');
    const post = from(nextAddress())('/auth/reset-password-sms');
    const valid = { phoneNumber, code, newPassword: NEW_PASSWORD };
    await postRefused(post, [
      { ...valid, bogus: 1 },
      { ...valid, code: '1234567890123' },
      { ...valid, newPassword: { length: 12 } },
      { phoneNumber, newPassword: NEW_PASSWORD },
      { ...valid, countryCode: null },
    ]);
    expect((await post(valid)).status).toBe(204);
  });

  it('POST /auth/login/2fa', async () => {
    const phoneNumber = nextPhone();
    await createUser(service, { phoneNumber, password: PASSWORD, twoFactorEnabled: true });
    const challenge = await from(nextAddress())('/auth/login')({ phoneNumber, password: PASSWORD });
    const twoFactorToken = challenge.body.twoFactorToken as string;
    expect(twoFactorToken).toEqual(expect.any(String));
    const code = await client.code(phoneNumber, 'two_factor');
    const post = from(nextAddress())('/auth/login/2fa');
    const valid = { twoFactorToken, code };
    await postRefused(post, [
      { ...valid, bogus: 1 },
      { ...valid, code: 'abcdef' },
      { twoFactorToken },
      { ...valid, twoFactorToken: 42 },
    ]);
    expect((await post(valid)).status).toBe(200);
  });

  it('POST /auth/2fa/enable', async () => {
    const phoneNumber = nextPhone();
    await createUser(service, { phoneNumber, password: PASSWORD });
    const accessToken = await sessionOf(phoneNumber);
    const code = await client.code(phoneNumber, 'two_factor');
    const post = from(nextAddress(), accessToken)('/auth/2fa/enable');
    await postRefused(post, [{ code, bogus: 1 }, { code: '12' }, {}]);
    expect((await post({ code })).status).toBe(200);
  });

  it('POST /auth/2fa/disable', async () => {
    const phoneNumber = nextPhone();
    await createUser(service, { phoneNumber, password: PASSWORD });
    const accessToken = await sessionOf(phoneNumber);
    const enableCode = await client.code(phoneNumber, 'two_factor');
    await from(nextAddress(), accessToken)('/auth/2fa/enable')({ code: enableCode }).expect(200);
    const code = await client.code(phoneNumber, 'two_factor');
    const post = from(nextAddress(), accessToken)('/auth/2fa/disable');
    await postRefused(post, [{ code, bogus: 1 }, { code: [code] }, { verificationToken: 'vt_' }]);
    expect((await post({ code })).status).toBe(200);
  });

  it('POST /auth/change-phone', async () => {
    const phoneNumber = nextPhone();
    await createUser(service, { phoneNumber, password: PASSWORD });
    const accessToken = await sessionOf(phoneNumber);
    const newPhoneNumber = nextPhone();
    const code = await client.code(newPhoneNumber, 'registration');
    const post = from(nextAddress(), accessToken)('/auth/change-phone');
    const valid = { newPhoneNumber, code, currentPassword: PASSWORD };
    await postRefused(post, [
      { ...valid, bogus: 1 },
      { ...valid, code: 'abcdef' },
      { ...valid, currentCode: '123456' },
      { newPhoneNumber, code },
      { ...valid, currentPassword: 12345678 },
    ]);
    expect((await post(valid)).status).toBe(200);
  });
});
