import supertest from 'supertest';
import { Clock } from '../../../src/common/clock';
import { FakeTwilioServer } from '../../fakes/fake-twilio-server';
import { AuthClient, authTestEnvironment } from '../../support/auth-client';
import { startFakeTwilio } from '../../support/fake-twilio-app';
import { FakeClock } from '../../support/fake-clock';
import { RELAXED_LIMITS } from '../../support/relaxed-limits';
import { TestApp, startTestApp } from '../../support/test-app';
import { ALL_FORMATS_RIGHT, answerOf, delivered, sendFrom } from '../support/send-answers';
import { headerNames } from '../support/http';

/**
 * The per-country and global send caps bound what toll fraud can cost, and must not be a way for a
 * stranger to cut users off. Before, an attacker who asked codes for random numbers of a country
 * from many addresses filled the country's cap, and every user of that country got a 429 until
 * the window ended (everyone, for the global cap). Now a full cap spares numbers that verified
 * before and answers every other number exactly like a real send that delivers nothing.
 *
 * The attack comes from outside, through a proxy we trust, from many client addresses.
 */

const ADMIN_API_KEY = 'send-caps-operator-key-0123456789abcdef012';
const operator = { Authorization: `Bearer ${ADMIN_API_KEY}` };
const PASSWORD = 'lantern-mosaic-47';

let phoneCounter = 0;
/** A fresh Ethiopian mobile number, each in a range of its own (no range limit interferes). */
function nextPhone(): string {
  phoneCounter += 1;
  return `+2519${String(3000 + phoneCounter)}0001`;
}

let ukPhoneCounter = 0;
function nextUkPhone(): string {
  ukPhoneCounter += 1;
  return `+447400${String(ukPhoneCounter).padStart(6, '0')}`;
}

/** A /24 of its own per call (198.18.0.0/15: benchmarking space, never a real client). */
let networkCounter = 0;
function nextNetworkAddress(): string {
  networkCounter += 1;
  return `198.${18 + Math.floor(networkCounter / 250)}.${networkCounter % 250}.7`;
}

async function startService(
  fake: FakeTwilioServer,
  clock: FakeClock,
  env: Record<string, string>,
): Promise<TestApp> {
  return startTestApp({
    env: {
      ...RELAXED_LIMITS,
      ...authTestEnvironment(fake),
      SMS_COUNTRY_LOCALES: 'ET:en',
      TRUST_PROXY: '127.0.0.1,::1',
      ADMIN_API_KEY,
      ...env,
    },
    override: (builder) => builder.overrideProvider(Clock).useValue(clock),
  });
}

/** A user who registered through the API, from their own address, before any attack. */
async function registeredUser(client: AuthClient, address: string) {
  const phoneNumber = nextPhone();
  const code = await client.code(phoneNumber, 'registration');
  await client
    .post('/auth/register', { phoneNumber, password: PASSWORD, code })
    .set('X-Forwarded-For', address)
    .expect(200);
  return phoneNumber;
}

/** The user asks for a login code from their own address, gets it by SMS, and logs in with it. */
async function logsInBySms(
  service: TestApp,
  client: AuthClient,
  fake: FakeTwilioServer,
  user: string,
  address: string,
): Promise<supertest.Response> {
  const before = delivered(fake, user);
  const answer = await sendFrom(service, address, user, 'login').expect(200);
  expect(delivered(fake, user)).toBe(before + 1);
  const code = /(\d{6})/.exec(fake.lastMessageTo(user)!.body)![1];
  await client
    .post('/auth/login-sms', { phoneNumber: user, code })
    .set('X-Forwarded-For', address)
    .expect(200);
  return answer;
}

async function heldByCap(service: TestApp, country: string): Promise<number> {
  const metrics = await service.http().get('/metrics').set(operator).expect(200);
  const line = metrics.text
    .split('\n')
    .find((row) =>
      row.startsWith(
        `sms_send_cap_suppressions_total{cap="${country === 'global' ? 'global' : 'country'}"}`,
      ),
    );
  return Number(line?.split(' ').at(-1) ?? 0);
}

describe('A full country cap cannot be turned against the users of that country', () => {
  const COUNTRY_CAP = 6;
  const CLIENT_LIMIT = 4;
  let fake: FakeTwilioServer;
  let service: TestApp;
  let client: AuthClient;
  const clock = new FakeClock(Date.UTC(2026, 10, 26, 8));

  beforeAll(async () => {
    fake = await startFakeTwilio();
    service = await startService(fake, clock, {
      SMS_COUNTRY_LIMITS: `ET:${COUNTRY_CAP},GB:1000000`,
      // Per client: every address here sends a few codes, the last test goes over it.
      SMS_IP_LIMIT: String(CLIENT_LIMIT),
    });
    client = new AuthClient(service, fake);
  });
  afterAll(async () => {
    await service?.close();
    await fake?.stop();
  });

  it('a registered user still gets a login code, a fresh number is answered alike and gets nothing', async () => {
    const userAddress = '203.0.113.20';
    const user = await registeredUser(client, userAddress);

    // Random numbers of the country, each from an address of its own, until the cap is full and
    // well beyond it.
    const attacked = Array.from({ length: COUNTRY_CAP + 4 }, nextPhone);
    for (const phoneNumber of attacked) {
      await sendFrom(service, nextNetworkAddress(), phoneNumber, 'registration').expect(200);
    }
    // The user's registration took one slot; the attacker's sends after the cap filled sent
    // nothing.
    expect(attacked.map((phoneNumber) => delivered(fake, phoneNumber))).toEqual([
      ...Array(COUNTRY_CAP - 1).fill(1),
      ...Array(5).fill(0),
    ]);

    // The user logs in by SMS from their own address, as if nothing happened.
    const userAnswer = await logsInBySms(service, client, fake, user, userAddress);

    // A fresh number is answered exactly like the user, and gets nothing.
    const fresh = nextPhone();
    const freshAnswer = await sendFrom(service, '203.0.113.21', fresh, 'registration');
    expect(answerOf(freshAnswer)).toEqual(answerOf(userAnswer));
    expect(answerOf(userAnswer).formats).toEqual(ALL_FORMATS_RIGHT);
    expect(delivered(fake, fresh)).toBe(0);
    // Asking again changes nothing.
    const again = await sendFrom(service, '203.0.113.21', fresh, 'registration');
    expect(answerOf(again)).toEqual(answerOf(userAnswer));
    expect(delivered(fake, fresh)).toBe(0);

    // Another country has its cap of its own.
    const abroad = nextUkPhone();
    await sendFrom(service, nextNetworkAddress(), abroad, 'registration').expect(200);
    expect(delivered(fake, abroad)).toBe(1);

    // Operators see what the cap kept back, apart from pumping holds.
    expect(await heldByCap(service, 'ET')).toBe(5 + 2);
  });

  it("the attacker's further sends deliver nothing: the cap still bounds what they cost", async () => {
    const before = fake.messages.length;
    for (let send = 0; send < 10; send += 1) {
      await sendFrom(service, nextNetworkAddress(), nextPhone(), 'registration').expect(200);
    }
    expect(fake.messages.length).toBe(before);
  });

  it('a client over its own limit still gets 429, alike for every number', async () => {
    // A new window; a number verifies a code (it now has history), then the cap fills again.
    clock.advance(16 * 60_000);
    const withHistory = nextPhone();
    await client.verificationToken(withHistory, 'registration');
    for (let send = 0; send < COUNTRY_CAP; send += 1) {
      await sendFrom(service, nextNetworkAddress(), nextPhone(), 'registration').expect(200);
    }
    // One address spends its own limit, then asks for the number with history and a fresh one.
    const address = nextNetworkAddress();
    for (let send = 0; send < CLIENT_LIMIT; send += 1) {
      await sendFrom(service, address, nextPhone(), 'registration').expect(200);
    }
    const before = fake.messages.length;
    const forHistory = await sendFrom(service, address, withHistory, 'registration');
    const fresh = nextPhone();
    const forFresh = await sendFrom(service, address, fresh, 'registration');
    expect(forHistory.status).toBe(429);
    expect(forHistory.body).toMatchObject({ error: 'RATE_LIMITED' });
    expect({ status: forFresh.status, body: forFresh.body }).toEqual({
      status: forHistory.status,
      body: forHistory.body,
    });
    expect(headerNames(forFresh)).toEqual(headerNames(forHistory));
    expect(forFresh.headers['ratelimit-limit']).toBe(forHistory.headers['ratelimit-limit']);
    expect(fake.messages.length).toBe(before);
  });
});

describe('A full global cap cannot be turned against anyone', () => {
  const GLOBAL_CAP = 6;
  let fake: FakeTwilioServer;
  let service: TestApp;
  let client: AuthClient;
  const clock = new FakeClock(Date.UTC(2026, 10, 27, 8));

  beforeAll(async () => {
    fake = await startFakeTwilio();
    service = await startService(fake, clock, { SMS_RATE_LIMIT_GLOBAL_MAX: String(GLOBAL_CAP) });
    client = new AuthClient(service, fake);
  });
  afterAll(async () => {
    await service?.close();
    await fake?.stop();
  });

  it('fills the global cap from abroad; users still get codes, fresh numbers nothing', async () => {
    const userAddress = '203.0.113.30';
    const user = await registeredUser(client, userAddress);

    const attacked = Array.from({ length: GLOBAL_CAP + 4 }, nextUkPhone);
    for (const phoneNumber of attacked) {
      await sendFrom(service, nextNetworkAddress(), phoneNumber, 'registration').expect(200);
    }
    expect(attacked.map((phoneNumber) => delivered(fake, phoneNumber))).toEqual([
      ...Array(GLOBAL_CAP - 1).fill(1),
      ...Array(5).fill(0),
    ]);

    const userAnswer = await logsInBySms(service, client, fake, user, userAddress);
    for (const fresh of [nextPhone(), nextUkPhone()]) {
      const freshAnswer = await sendFrom(service, '203.0.113.31', fresh, 'registration');
      expect(answerOf(freshAnswer)).toEqual(answerOf(userAnswer));
      expect(delivered(fake, fresh)).toBe(0);
    }
    expect(answerOf(userAnswer).formats).toEqual(ALL_FORMATS_RIGHT);
    expect(await heldByCap(service, 'global')).toBe(5 + 2);
  });

  it('numbers with history get at most one more cap of real sends per window', async () => {
    // A new window: numbers verify (one send each) until the cap is full.
    clock.advance(16 * 60_000);
    const vouched = Array.from({ length: GLOBAL_CAP }, nextPhone);
    for (const phoneNumber of vouched) await client.verificationToken(phoneNumber, 'registration');
    const before = fake.messages.length;

    // Each asks again past the full cap, twice: the first round is spared, the second is not.
    for (let round = 0; round < 2; round += 1) {
      for (const phoneNumber of vouched) {
        await sendFrom(service, nextNetworkAddress(), phoneNumber, 'registration').expect(200);
      }
    }
    expect(fake.messages.length - before).toBe(GLOBAL_CAP);
    expect(vouched.map((phoneNumber) => delivered(fake, phoneNumber))).toEqual(
      vouched.map(() => 2),
    );
  });
});

describe('Past a full cap, the daily budget still stops every send', () => {
  let fake: FakeTwilioServer;
  let service: TestApp;
  let client: AuthClient;
  const clock = new FakeClock(Date.UTC(2026, 10, 28, 8));

  beforeAll(async () => {
    fake = await startFakeTwilio();
    // Room for three SMS today; the country's cap is two. Prices exact in binary: the budget check
    // of a silent send adds them up in JavaScript, that of a real send in SQL numerics.
    service = await startService(fake, clock, {
      SMS_COUNTRY_LIMITS: 'ET:2',
      SMS_DAILY_BUDGET: '0.75',
      SMS_PRICES: 'ET:0.25',
    });
    client = new AuthClient(service, fake);
  });
  afterAll(async () => {
    await service?.close();
    await fake?.stop();
  });

  it('spares a user until the budget is spent, then answers every number alike', async () => {
    const userAddress = '203.0.113.40';
    const user = await registeredUser(client, userAddress);
    await sendFrom(service, nextNetworkAddress(), nextPhone(), 'registration').expect(200);
    // The cap is full: the next stranger costs nothing, the user's login code the last SMS.
    await sendFrom(service, nextNetworkAddress(), nextPhone(), 'registration').expect(200);
    await logsInBySms(service, client, fake, user, userAddress);
    const before = fake.messages.length;

    const forUser = await sendFrom(service, userAddress, user, 'login');
    const forFresh = await sendFrom(service, '203.0.113.41', nextPhone(), 'registration');
    expect(forUser.status).toBe(503);
    expect(forUser.body).toMatchObject({ error: 'SMS_BUDGET_EXHAUSTED' });
    expect({ status: forFresh.status, body: forFresh.body }).toEqual({
      status: forUser.status,
      body: forUser.body,
    });
    expect(fake.messages.length).toBe(before);
  });
});
