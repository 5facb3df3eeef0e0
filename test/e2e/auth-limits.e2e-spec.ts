import { Clock } from '../../src/common/clock';
import { createUser } from '../factories/user.factory';
import { FakeTwilioServer } from '../fakes/fake-twilio-server';
import { AuthClient, authTestEnvironment } from '../support/auth-client';
import { FakeClock } from '../support/fake-clock';
import { RELAXED_LIMITS } from '../support/relaxed-limits';
import { TestApp, startTestApp } from '../support/test-app';
import { TEST_TWILIO } from '../support/twilio-test-credentials';

let phoneCounter = 0;
function nextPhone(): string {
  phoneCounter += 1;
  return `+2519150${String(phoneCounter).padStart(5, '0')}`;
}

let ipCounter = 0;
/** A client address of its own, through the one trusted proxy hop (TRUST_PROXY=1). */
function nextIp(): string {
  ipCounter += 1;
  return `198.51.100.${ipCounter}`;
}

const PASSWORD = 'lantern-mosaic-47';
const WRONG = 'not-the-password-9';
const LIMIT = 3;
const IP_LIMIT = 5;
const WINDOW_MS = 600_000;

describe('Password and code attempt limits on the auth endpoints', () => {
  let fake: FakeTwilioServer;
  let service: TestApp;
  let clock: FakeClock;
  let client: AuthClient;

  beforeAll(async () => {
    clock = new FakeClock();
    fake = await FakeTwilioServer.start({
      accountSid: TEST_TWILIO.accountSid,
      authToken: TEST_TWILIO.authToken,
    });
    service = await startTestApp({
      env: {
        ...RELAXED_LIMITS,
        ...authTestEnvironment(fake),
        AUTH_PASSWORD_ATTEMPTS_LIMIT: String(LIMIT),
        AUTH_PASSWORD_IP_ATTEMPTS_LIMIT: String(IP_LIMIT),
        AUTH_PASSWORD_ATTEMPTS_WINDOW: String(WINDOW_MS),
        TRUST_PROXY: '1',
      },
      override: (builder) => builder.overrideProvider(Clock).useValue(clock),
    });
    client = new AuthClient(service, fake);
  });
  afterAll(async () => {
    await service.close();
    await fake.stop();
  });

  function login(phoneNumber: string, password: string, ip = nextIp()) {
    return client.post('/auth/login', { phoneNumber, password }).set('X-Forwarded-For', ip);
  }

  it('refuses further passwords for a phone from one client after the limit, even the right one, until the window passes', async () => {
    const phoneNumber = nextPhone();
    await createUser(service, { phoneNumber, password: PASSWORD });
    const ip = nextIp();
    for (let attempt = 0; attempt < LIMIT; attempt += 1) {
      await login(phoneNumber, WRONG, ip).expect(401);
    }
    const limited = await login(phoneNumber, PASSWORD, ip).expect(429);
    expect(limited.body).toEqual({
      success: false,
      message: 'Rate limit exceeded. Please try again later.',
      error: 'RATE_LIMITED',
      retryAfter: expect.any(Number),
    });
    expect(Number(limited.headers['retry-after'])).toBe(limited.body.retryAfter);
    expect(limited.body.retryAfter).toBeLessThanOrEqual(WINDOW_MS / 1000);

    // Another client's budget is its own: the owner is not locked out.
    await login(phoneNumber, PASSWORD).expect(200);
    clock.advance(WINDOW_MS + 1_000);
    await login(phoneNumber, PASSWORD, ip).expect(200);
  });

  it('limits a number without an account exactly like one with an account', async () => {
    const known = nextPhone();
    const unknown = nextPhone();
    await createUser(service, { phoneNumber: known, password: PASSWORD });
    const answers: Record<string, [number, string][]> = { known: [], unknown: [] };
    const ips = { known: nextIp(), unknown: nextIp() };
    for (let attempt = 0; attempt <= LIMIT; attempt += 1) {
      for (const [label, phoneNumber] of [
        ['known', known],
        ['unknown', unknown],
      ] as const) {
        const response = await login(phoneNumber, WRONG, ips[label]);
        answers[label].push([response.status, response.body.error]);
      }
    }
    expect(answers.known).toEqual(answers.unknown);
    expect(answers.known.at(-1)).toEqual([429, 'RATE_LIMITED']);
  });

  it("clears the client's count for the phone on the right password", async () => {
    const phoneNumber = nextPhone();
    await createUser(service, { phoneNumber, password: PASSWORD });
    const ip = nextIp();
    for (let attempt = 0; attempt < LIMIT - 1; attempt += 1) {
      await login(phoneNumber, WRONG, ip).expect(401);
    }
    await login(phoneNumber, PASSWORD, ip).expect(200);
    // Uncleared, the first of these would be the client's fourth attempt for the phone: a 429.
    for (let attempt = 0; attempt < LIMIT - 1; attempt += 1) {
      await login(phoneNumber, WRONG, ip).expect(401);
    }
  });

  it('limits password attempts from one client address across phones', async () => {
    const ip = nextIp();
    const phones = Array.from({ length: IP_LIMIT + 1 }, () => nextPhone());
    for (const phoneNumber of phones.slice(0, IP_LIMIT)) {
      await login(phoneNumber, WRONG, ip).expect(401);
    }
    await login(phones[IP_LIMIT], WRONG, ip).expect(429);
    await login(phones[IP_LIMIT], WRONG, nextIp()).expect(401);
  });

  it('counts current-password attempts at change-phone too', async () => {
    const phoneNumber = nextPhone();
    await createUser(service, { phoneNumber, password: PASSWORD });
    const session = await client.loginWithSms(phoneNumber);
    const ip = nextIp();
    const attempt = () =>
      client
        .post(
          '/auth/change-phone',
          { newPhoneNumber: nextPhone(), code: '123456', currentPassword: WRONG },
          session.accessToken,
        )
        .set('X-Forwarded-For', ip);
    for (let index = 0; index < LIMIT; index += 1) await attempt().expect(401);
    await attempt().expect(429);
  });

  it('kills a login code after too many wrong guesses at login-sms, as at verify-code', async () => {
    const phoneNumber = nextPhone();
    await createUser(service, { phoneNumber, password: PASSWORD });
    const code = await client.code(phoneNumber, 'login');
    const wrong = code === '000000' ? '111111' : '000000';
    const statuses: number[] = [];
    for (let attempt = 0; attempt < 3; attempt += 1) {
      const response = await client.post('/auth/login-sms', { phoneNumber, code: wrong });
      statuses.push(response.status);
    }
    expect(statuses).toEqual([401, 401, 429]);
    const dead = await client.post('/auth/login-sms', { phoneNumber, code }).expect(401);
    expect(dead.body.error).toBe('INVALID_CODE');
  });
});
