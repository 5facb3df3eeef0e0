import type { Response, Test } from 'supertest';
import { DataSource } from 'typeorm';
import { Clock } from '../../src/common/clock';
import { Hasher } from '../../src/common/hasher';
import { Purpose } from '../../src/common/purpose';
import { FakeTwilioServer } from '../fakes/fake-twilio-server';
import { FakeClock } from './fake-clock';
import { RELAXED_LIMITS } from './relaxed-limits';
import { TestApp, startTestApp } from './test-app';
import { TEST_REDIS_URL } from './test-environment';
import { TEST_TWILIO } from './twilio-test-credentials';

/**
 * The limit layers of issue 4, through HTTP on the real app: every SMS goes to a fake Twilio so
 * provider calls can be counted, and time is a FakeClock. Each test boots its own app with only
 * the layers it tests tightened (RELAXED_LIMITS for the rest), so tests never share counters.
 *
 * A spec file calls setUpSmsRateLimitApps() once, then describeSmsRateLimits() per store, and may
 * use startLimitedApp() and the helpers below for tests of its own. The same behaviour runs on a
 * single Redis (test/e2e/rate-limit.e2e-spec.ts) and on a Redis Cluster
 * (test/resilience/redis-cluster.e2e-spec.ts).
 */

export type StoreKind = 'redis' | 'postgres' | 'memory';

/** Where the app finds Redis: REDIS_URL or REDIS_CLUSTER_NODES, the other one unset. */
export interface RedisEnvironment {
  REDIS_URL?: string;
  REDIS_CLUSTER_NODES?: string;
}

/** The machine's Redis (TEST_REDIS_URL), where every other e2e file runs. */
const singleRedis = (): RedisEnvironment => ({ REDIS_URL: TEST_REDIS_URL });

const SECOND = 1_000;
const MINUTE = 60 * SECOND;
const HOUR = 60 * MINUTE;

const RATE_LIMITED = {
  success: false,
  message: 'Rate limit exceeded. Please try again later.',
  error: 'RATE_LIMITED',
};
export const LIMITS_UNAVAILABLE = {
  success: false,
  message: 'The service is temporarily unavailable. Please try again shortly.',
  error: 'RATE_LIMIT_UNAVAILABLE',
};

/** supertest connects over IPv4 loopback; these are "our proxies" when X-Forwarded-For counts. */
const LOOPBACK_PROXIES = '127.0.0.1,::1';

/** Unique numbers across the whole file, so provider calls are counted per number. */
let phoneCounter = 0;
export function nextPhone(): string {
  phoneCounter += 1;
  return `+25192${String(phoneCounter).padStart(7, '0')}`;
}
let ukPhoneCounter = 0;
function nextUkPhone(): string {
  ukPhoneCounter += 1;
  return `+447400${String(ukPhoneCounter).padStart(6, '0')}`;
}
/** A fresh number range: E.164 minus the last four digits, e.g. "+25193001". */
let rangeCounter = 0;
function nextRange(): string {
  rangeCounter += 1;
  return `+25193${String(rangeCounter).padStart(3, '0')}`;
}
/** A documentation address (RFC 5737) per call, for "many different clients". */
let addressCounter = 0;
function nextClientAddress(): string {
  addressCounter += 1;
  return `198.51.${Math.floor(addressCounter / 250)}.${(addressCounter % 250) + 1}`;
}

let fake: FakeTwilioServer;
const openApps: TestApp[] = [];

function twilioEnvironment(): Record<string, string> {
  return {
    SMS_PROVIDER: 'twilio-messaging',
    TWILIO_ACCOUNT_SID: TEST_TWILIO.accountSid,
    TWILIO_AUTH_TOKEN: TEST_TWILIO.authToken,
    TWILIO_MESSAGING_SERVICE_SID: TEST_TWILIO.messagingServiceSid,
    TWILIO_API_BASE_URL: fake.url,
    // English texts: the code is the only six-digit run in the body.
    SMS_COUNTRY_LOCALES: 'ET:en',
  };
}

/** SMS the fake Twilio was asked to deliver to this number. */
export function providerCallsTo(phoneNumber: string): number {
  const messages = fake.messages.filter((message) => message.to === phoneNumber).length;
  const verifySends = fake.verifications
    .filter((verification) => verification.to === phoneNumber)
    .reduce((sum, verification) => sum + verification.sends, 0);
  return messages + verifySends;
}

export function codeSentTo(phoneNumber: string): string {
  const body = fake.lastMessageTo(phoneNumber)?.body ?? '';
  const match = /\b(\d{6})\b/.exec(body);
  if (!match) throw new Error(`no code in the last SMS to ${phoneNumber}: "${body}"`);
  return match[1];
}

function wrongCodeFor(phoneNumber: string): string {
  return codeSentTo(phoneNumber) === '000000' ? '111111' : '000000';
}

interface RequestOptions {
  purpose?: Purpose;
  /** Sent as X-Forwarded-For. */
  forwardedFor?: string;
}

export interface LimitedApp {
  service: TestApp;
  clock: FakeClock;
  send(phoneNumber: string, options?: RequestOptions): Test;
  verify(phoneNumber: string, code: string, options?: RequestOptions): Test;
}

export interface StartOptions {
  /** Tightened layers, on top of RELAXED_LIMITS and `redis`. */
  env?: Record<string, string | undefined>;
  /** The machine's Redis unless set. */
  redis?: RedisEnvironment;
  /** Variables left unset, so the schema default applies. */
  defaults?: string[];
  /** A second instance of the same deployment: same database, Redis prefix and clock. */
  instanceOf?: LimitedApp;
}

export async function startLimitedApp(
  store: StoreKind,
  options: StartOptions = {},
): Promise<LimitedApp> {
  const clock = options.instanceOf?.clock ?? new FakeClock(Date.UTC(2025, 5, 1, 8));
  const env: Record<string, string | undefined> = {
    ...RELAXED_LIMITS,
    ...twilioEnvironment(),
    RATE_LIMIT_STORE: store,
    ...(options.redis ?? singleRedis()),
    ...options.env,
  };
  for (const name of options.defaults ?? []) delete env[name];
  const service = await startTestApp({
    skipAccountFilter: true,
    env,
    databaseUrl: options.instanceOf?.service.databaseUrl,
    redisKeyPrefix: options.instanceOf?.service.redisKeyPrefix,
    override: (builder) => builder.overrideProvider(Clock).useValue(clock),
  });
  openApps.push(service);
  const post = (path: string, body: Record<string, unknown>, forwardedFor?: string) => {
    const request = service.http().post(path);
    if (forwardedFor) request.set('X-Forwarded-For', forwardedFor);
    return request.send(body);
  };
  return {
    service,
    clock,
    send: (phoneNumber, { purpose = 'login', forwardedFor } = {}) =>
      post('/sms/send-verification', { phoneNumber, purpose }, forwardedFor),
    verify: (phoneNumber, code, { purpose = 'login', forwardedFor } = {}) =>
      post('/sms/verify-code', { phoneNumber, code, purpose }, forwardedFor),
  };
}

/** Closes the apps of the test that just ran; a second instance before the one owning the data. */
export async function closeOpenApps(): Promise<void> {
  while (openApps.length > 0) await openApps.pop()?.close();
}

export function expectRateLimited(response: Response, retryAfter?: number): void {
  expect(response.status).toBe(429);
  expect(response.body).toEqual({ ...RATE_LIMITED, retryAfter: expect.any(Number) });
  const seconds = response.body.retryAfter as number;
  expect(seconds).toBeGreaterThanOrEqual(1);
  if (retryAfter !== undefined) expect(seconds).toBe(retryAfter);
  expect(response.headers['retry-after']).toBe(String(seconds));
}

/**
 * A refusal by a layer keyed on the number, its range, its country or the service: Retry-After
 * says when, and no RateLimit-* header names that layer's limit (what others asked for them).
 */
function expectNoQuotaHeaders(response: Response): void {
  for (const name of ['ratelimit-limit', 'ratelimit-remaining', 'ratelimit-reset']) {
    expect([name, response.headers[name]]).toEqual([name, undefined]);
  }
}

function statusCounts(responses: Response[]): Record<number, number> {
  const counts: Record<number, number> = {};
  for (const { status } of responses) counts[status] = (counts[status] ?? 0) + 1;
  return counts;
}

async function verificationRows(
  app: LimitedApp,
  phoneNumber: string,
): Promise<{ attempts: number; max_attempts: number; status: string }[]> {
  return app.service.app.get(DataSource).query(
    `SELECT attempts, max_attempts, status FROM sms_verifications
        WHERE phone_number_hash = $1`,
    [app.service.app.get(Hasher).hash('phone', phoneNumber)],
  );
}

/** The fake Twilio of the file and the closing of each test's apps; call once per spec file. */
export function setUpSmsRateLimitApps(): void {
  beforeAll(async () => {
    fake = await FakeTwilioServer.start({
      accountSid: TEST_TWILIO.accountSid,
      authToken: TEST_TWILIO.authToken,
    });
  });
  afterEach(closeOpenApps);
  afterAll(async () => {
    await closeOpenApps();
    await fake?.stop();
  });
}

/**
 * The rate-limit behaviour over HTTP on one store. `redis` is read when each test starts its app
 * (a cluster a spec file starts in beforeAll exists by then).
 */
export function describeSmsRateLimits(
  store: StoreKind,
  options: { redis?: () => RedisEnvironment; where?: string } = {},
): void {
  const start = (startOptions: StartOptions = {}) =>
    startLimitedApp(store, { redis: (options.redis ?? singleRedis)(), ...startOptions });

  describe(`SMS rate limits over HTTP with RATE_LIMIT_STORE=${store}${options.where ?? ''}`, () => {
    describe('per phone and resend cooldown', () => {
      it('lets exactly 5 of 100 concurrent sends for one phone reach the provider', async () => {
        const app = await start({
          env: { SMS_RATE_LIMIT_MAX_ATTEMPTS: '5', SMS_RESEND_COOLDOWNS: '0' },
        });
        const phoneNumber = nextPhone();

        const responses = await Promise.all(
          Array.from({ length: 100 }, () => app.send(phoneNumber)),
        );

        expect(statusCounts(responses)).toEqual({ 200: 5, 429: 95 });
        expect(providerCallsTo(phoneNumber)).toBe(5);
        // The five accepted sends saw the client's own quota (per IP, 100000) go down one by one;
        // the phone's is nobody's business but the store's.
        const remaining = responses
          .filter((response) => response.status === 200)
          .map((response) => response.headers['ratelimit-remaining'])
          .sort();
        expect(remaining).toEqual(['99995', '99996', '99997', '99998', '99999']);
        for (const refused of responses.filter((response) => response.status === 429)) {
          // The clock stands still: the oldest send leaves the 15-minute window in 900 s.
          expectRateLimited(refused, 900);
          expectNoQuotaHeaders(refused);
        }
      });

      it('lets 1 of 100 concurrent sends through with the default cooldown', async () => {
        const app = await start({
          env: { SMS_RATE_LIMIT_MAX_ATTEMPTS: '5' },
          defaults: ['SMS_RESEND_COOLDOWNS'],
        });
        const phoneNumber = nextPhone();

        const responses = await Promise.all(
          Array.from({ length: 100 }, () => app.send(phoneNumber)),
        );

        expect(statusCounts(responses)).toEqual({ 200: 1, 429: 99 });
        expect(providerCallsTo(phoneNumber)).toBe(1);
        for (const refused of responses.filter((response) => response.status === 429)) {
          expectRateLimited(refused, 30);
        }
      });

      it('grows the resend delay 30 s → 60 s → 300 s', async () => {
        const app = await start({ defaults: ['SMS_RESEND_COOLDOWNS'] });
        const phoneNumber = nextPhone();

        await app.send(phoneNumber).expect(200);
        expectRateLimited(await app.send(phoneNumber), 30);
        app.clock.advance(29 * SECOND);
        expectRateLimited(await app.send(phoneNumber), 1);
        app.clock.advance(1 * SECOND);
        await app.send(phoneNumber).expect(200);

        expectRateLimited(await app.send(phoneNumber), 60);
        app.clock.advance(60 * SECOND);
        await app.send(phoneNumber).expect(200);

        expectRateLimited(await app.send(phoneNumber), 300);
        app.clock.advance(299 * SECOND);
        expectRateLimited(await app.send(phoneNumber), 1);
        app.clock.advance(1 * SECOND);
        await app.send(phoneNumber).expect(200);

        // The cooldown belongs to phone + purpose: another purpose starts its own.
        await app.send(phoneNumber, { purpose: 'registration' }).expect(200);
        expect(providerCallsTo(phoneNumber)).toBe(5);
      });

      it('counts sends in a rolling window, not a fixed one', async () => {
        const app = await start({
          env: {
            SMS_RATE_LIMIT_WINDOW: String(MINUTE),
            SMS_RATE_LIMIT_MAX_ATTEMPTS: '5',
            SMS_RESEND_COOLDOWNS: '0',
            SMS_MAX_SENDS_PER_VERIFICATION: '10',
          },
        });
        const phoneNumber = nextPhone();

        // Sends at 0, 10, 20, 30 and 40 s.
        for (let send = 0; send < 5; send += 1) {
          await app.send(phoneNumber).expect(200);
          app.clock.advance(10 * SECOND);
        }
        // 50 s; then 1 ms before the send of 0 s leaves the window.
        expectRateLimited(await app.send(phoneNumber), 10);
        app.clock.advance(10 * SECOND - 1);
        expectRateLimited(await app.send(phoneNumber), 1);

        app.clock.advance(1);
        await app.send(phoneNumber).expect(200);
        // A fixed window would have started afresh at 60 s and allowed 4 more; the send of 10 s
        // still counts until 70 s.
        expectRateLimited(await app.send(phoneNumber), 10);
        app.clock.advance(10 * SECOND - 1);
        expectRateLimited(await app.send(phoneNumber), 1);
        app.clock.advance(1);
        await app.send(phoneNumber).expect(200);
        expect(providerCallsTo(phoneNumber)).toBe(7);
      });
    });

    describe('per client IP', () => {
      it('lets a refused request consume nothing from the other layers', async () => {
        const app = await start({
          env: {
            TRUST_PROXY: LOOPBACK_PROXIES,
            SMS_IP_LIMIT: '3',
            SMS_RATE_LIMIT_MAX_ATTEMPTS: '1',
          },
          defaults: ['SMS_RESEND_COOLDOWNS'],
        });
        const attacker = '203.0.113.66';
        for (let own = 0; own < 3; own += 1) {
          await app.send(nextPhone(), { forwardedFor: attacker }).expect(200);
        }
        const victim = nextPhone();

        const flood = await Promise.all(
          Array.from({ length: 50 }, () => app.send(victim, { forwardedFor: attacker })),
        );

        expect(statusCounts(flood)).toEqual({ 429: 50 });
        for (const response of flood) {
          expectRateLimited(response);
          // The attacker's own quota refused: that one it is told about.
          expect(response.headers['ratelimit-limit']).toBe('3');
          expect(response.headers['ratelimit-remaining']).toBe('0');
        }
        expect(providerCallsTo(victim)).toBe(0);
        // Neither the victim's cooldown nor its per-phone quota (one send) was touched by the
        // flood: either would refuse this send.
        await app.send(victim, { forwardedFor: '198.51.100.23' }).expect(200);
        expect(providerCallsTo(victim)).toBe(1);
      });

      it('ignores X-Forwarded-For from an untrusted peer (TRUST_PROXY=false)', async () => {
        const app = await start({
          env: { TRUST_PROXY: 'false', SMS_IP_LIMIT: '3' },
        });
        for (let send = 0; send < 3; send += 1) {
          await app.send(nextPhone(), { forwardedFor: nextClientAddress() }).expect(200);
        }
        const phoneNumber = nextPhone();
        expectRateLimited(await app.send(phoneNumber, { forwardedFor: nextClientAddress() }));
        expectRateLimited(await app.send(phoneNumber));
        expect(providerCallsTo(phoneNumber)).toBe(0);
      });

      it('believes only the entry our own proxy added, not what the client forged', async () => {
        const app = await start({
          env: { TRUST_PROXY: LOOPBACK_PROXIES, SMS_IP_LIMIT: '3' },
        });
        const client = '203.0.113.77';
        // The client writes any X-Forwarded-For it likes; our proxy appends the real peer.
        const forged = () => `${nextClientAddress()}, ${client}`;
        for (let send = 0; send < 3; send += 1) {
          await app.send(nextPhone(), { forwardedFor: forged() }).expect(200);
        }
        expectRateLimited(await app.send(nextPhone(), { forwardedFor: forged() }));
        // Another real client behind the same proxy has its own quota.
        await app.send(nextPhone(), { forwardedFor: '203.0.113.78' }).expect(200);
      });

      it('limits distinct numbers per IP and lets the known ones through again', async () => {
        const app = await start({ env: { SMS_IP_DISTINCT_PHONES: '5' } });
        const phones = Array.from({ length: 5 }, () => nextPhone());
        for (const phoneNumber of phones) await app.send(phoneNumber).expect(200);

        const sixth = nextPhone();
        expectRateLimited(await app.send(sixth));
        expect(providerCallsTo(sixth)).toBe(0);

        for (const phoneNumber of phones) await app.send(phoneNumber).expect(200);
        expect(phones.map(providerCallsTo)).toEqual([2, 2, 2, 2, 2]);
      });
    });

    describe('per number range, country and globally', () => {
      it('stops a sweep of adjacent numbers from many IPs at the default 20 per range', async () => {
        const app = await start({
          env: { TRUST_PROXY: LOOPBACK_PROXIES },
          defaults: ['SMS_PREFIX_LIMIT'],
        });
        const range = nextRange();
        const responses: Response[] = [];
        for (let suffix = 0; suffix < 30; suffix += 1) {
          const phoneNumber = `${range}${String(suffix).padStart(4, '0')}`;
          responses.push(await app.send(phoneNumber, { forwardedFor: nextClientAddress() }));
        }

        expect(responses.slice(0, 20).map((response) => response.status)).toEqual(
          Array(20).fill(200),
        );
        responses.slice(20).forEach((response) => expectRateLimited(response));
        expect(fake.messages.filter((message) => message.to.startsWith(range))).toHaveLength(20);
        // The next range is not affected.
        await app.send(`${nextRange()}0000`, { forwardedFor: nextClientAddress() }).expect(200);
      });

      // A full cap is no 429 (a stranger could fill it and cut a country off): past it, numbers
      // without history are answered as usual and get nothing (test/security/outsider/send-caps).
      it('limits sends per country (SMS_COUNTRY_LIMITS)', async () => {
        const app = await start({ env: { SMS_COUNTRY_LIMITS: 'ET:3' } });
        for (let send = 0; send < 3; send += 1) await app.send(nextPhone()).expect(200);

        const fourth = nextPhone();
        const capped = await app.send(fourth);
        expect(capped.status).toBe(200);
        expect(capped.body).toMatchObject({ to: fourth, status: 'pending' });
        expect(providerCallsTo(fourth)).toBe(0);
        // Another country has its own budget.
        const abroad = nextUkPhone();
        await app.send(abroad).expect(200);
        expect(providerCallsTo(abroad)).toBe(1);
      });

      it('limits sends across the whole service (SMS_RATE_LIMIT_GLOBAL_MAX)', async () => {
        const app = await start({ env: { SMS_RATE_LIMIT_GLOBAL_MAX: '4' } });
        await app.send(nextPhone()).expect(200);
        await app.send(nextUkPhone()).expect(200);
        await app.send(nextPhone(), { purpose: 'registration' }).expect(200);
        await app.send(nextUkPhone(), { purpose: 'password_reset' }).expect(200);

        for (const phoneNumber of [nextPhone(), nextUkPhone()]) {
          const capped = await app.send(phoneNumber);
          expect(capped.status).toBe(200);
          expect(capped.body).toMatchObject({ to: phoneNumber, status: 'pending' });
          expect(providerCallsTo(phoneNumber)).toBe(0);
        }
      });
    });

    describe('per purpose', () => {
      it('refuses the 4th registration send while login is still allowed', async () => {
        const app = await start({
          env: {
            SMS_PURPOSE_LIMITS: 'registration:3,login:10000,password_reset:10000,two_factor:10000',
          },
        });
        const phoneNumber = nextPhone();
        for (let send = 0; send < 3; send += 1) {
          await app.send(phoneNumber, { purpose: 'registration' }).expect(200);
        }
        const refused = await app.send(phoneNumber, { purpose: 'registration' });
        expectRateLimited(refused);
        expectNoQuotaHeaders(refused);
        expect(providerCallsTo(phoneNumber)).toBe(3);

        await app.send(phoneNumber, { purpose: 'login' }).expect(200);
        expect(providerCallsTo(phoneNumber)).toBe(4);
      });
    });

    describe('checking codes', () => {
      it('counts at most SMS_MAX_ATTEMPTS of 50 concurrent wrong codes', async () => {
        const app = await start({
          defaults: ['SMS_VERIFY_PHONE_LIMIT', 'SMS_VERIFY_IP_LIMIT', 'SMS_MAX_ATTEMPTS'],
        });
        const phoneNumber = nextPhone();
        await app.send(phoneNumber).expect(200);
        const wrong = wrongCodeFor(phoneNumber);

        const responses = await Promise.all(
          Array.from({ length: 50 }, () => app.verify(phoneNumber, wrong)),
        );

        // Only checks that find a live verification to guess at spend the phone's budget: three
        // are counted, the other 47 find the verification out of attempts, and none is refused
        // by a limit.
        expect(responses.filter((response) => response.body.error === 'RATE_LIMITED')).toEqual([]);
        expect(responses.every((response) => [200, 404, 429].includes(response.status))).toBe(true);
        expect(responses.filter((response) => response.body.valid === true)).toHaveLength(0);
        const [row] = await verificationRows(app, phoneNumber);
        expect(row).toEqual({ attempts: 3, max_attempts: 3, status: 'failed' });
      });

      it('stops fail-and-resend cycles at SMS_VERIFY_PHONE_LIMIT wrong codes', async () => {
        const app = await start({
          env: { SMS_VERIFY_PHONE_LIMIT: '10', SMS_MAX_ATTEMPTS: '3' },
        });
        const phoneNumber = nextPhone();

        // 3 + 3 + 3 + 1 wrong codes over four verifications.
        for (const wrongCodes of [3, 3, 3, 1]) {
          await app.send(phoneNumber).expect(200);
          for (let attempt = 1; attempt <= wrongCodes; attempt += 1) {
            const response = await app.verify(phoneNumber, wrongCodeFor(phoneNumber));
            expect(response.body.error).not.toBe('RATE_LIMITED');
            expect(response.status).toBe(attempt < 3 ? 200 : 429);
          }
        }

        // A fresh verification (the last one expired) does not reset the phone's count.
        app.clock.advance(6 * MINUTE);
        await app.send(phoneNumber).expect(200);
        const refused = await app.verify(phoneNumber, codeSentTo(phoneNumber));
        expectRateLimited(refused);
        const rows = await verificationRows(app, phoneNumber);
        expect(rows.map(({ attempts, status }) => `${status}:${attempts}`).sort()).toEqual([
          'expired:1',
          'failed:3',
          'failed:3',
          'failed:3',
          'pending:0',
        ]);

        // The count runs out with its hour; the right code then works.
        app.clock.advance(HOUR);
        await app.send(phoneNumber).expect(200);
        const approved = await app.verify(phoneNumber, codeSentTo(phoneNumber)).expect(200);
        expect(approved.body).toMatchObject({ status: 'approved', valid: true });
      });

      it('clears the wrong-code count when a right code is given', async () => {
        const app = await start({
          env: { SMS_VERIFY_PHONE_LIMIT: '10', SMS_MAX_ATTEMPTS: '3' },
        });
        const phoneNumber = nextPhone();
        const failVerification = async (wrongCodes: number) => {
          await app.send(phoneNumber).expect(200);
          for (let attempt = 0; attempt < wrongCodes; attempt += 1) {
            const response = await app.verify(phoneNumber, wrongCodeFor(phoneNumber));
            expect(response.body.error).not.toBe('RATE_LIMITED');
          }
        };

        for (let cycle = 0; cycle < 3; cycle += 1) await failVerification(3);
        await app.send(phoneNumber).expect(200);
        await app.verify(phoneNumber, codeSentTo(phoneNumber)).expect(200);

        // Nine wrong codes and one right one: without the clearing, the next check is refused.
        for (const wrongCodes of [3, 3, 3, 1]) await failVerification(wrongCodes);
        await app.send(phoneNumber).expect(200);
        expectRateLimited(await app.verify(phoneNumber, codeSentTo(phoneNumber)));
      });
    });

    describe('several instances', () => {
      const sharedStoreIt = store === 'memory' ? it.skip : it;

      sharedStoreIt('shares the per-phone, distinct-number and IP limits', async () => {
        const env = {
          SMS_RATE_LIMIT_MAX_ATTEMPTS: '5',
          SMS_RESEND_COOLDOWNS: '0',
          SMS_MAX_SENDS_PER_VERIFICATION: '10',
          SMS_IP_DISTINCT_PHONES: '3',
          SMS_IP_LIMIT: '8',
        };
        const first = await start({ env });
        const second = await start({ env, instanceOf: first });
        const instances = [first, second];
        const phoneNumber = nextPhone();

        const sends: Response[] = [];
        for (let send = 0; send < 10; send += 1) {
          sends.push(await instances[send % 2].send(phoneNumber));
        }
        expect(sends.map((response) => response.status)).toEqual([
          ...Array(5).fill(200),
          ...Array(5).fill(429),
        ]);
        expect(providerCallsTo(phoneNumber)).toBe(5);

        // Distinct numbers from this IP: 1 so far, 3 allowed in all.
        const [secondPhone, thirdPhone] = [nextPhone(), nextPhone()];
        await second.send(secondPhone).expect(200);
        await first.send(thirdPhone).expect(200);
        expectRateLimited(await second.send(nextPhone()));
        // Sends from this IP: 7 accepted so far, 8 allowed in all.
        await first.send(secondPhone).expect(200);
        expectRateLimited(await second.send(thirdPhone));
      });
    });

    describe('generic HTTP throttling', () => {
      it('throttles a route beyond HTTP_THROTTLE_LIMIT with the 429 envelope', async () => {
        const app = await start({ env: { HTTP_THROTTLE_LIMIT: '3' } });
        const validate = () =>
          app.service.http().post('/phone/validate').send({ phoneNumber: '+251911234567' });
        for (let call = 0; call < 3; call += 1) await validate().expect(200);
        const refused = await validate();
        expectRateLimited(refused, 60);
        app.clock.advance(MINUTE);
        await validate().expect(200);
      });

      it('never throttles the liveness probe /health', async () => {
        const app = await start({ env: { HTTP_THROTTLE_LIMIT: '3' } });
        const statuses: number[] = [];
        for (let call = 0; call < 10; call += 1) {
          statuses.push((await app.service.http().get('/health')).status);
        }
        expect(statuses).toEqual(Array(10).fill(200));
      });
    });
  });
}
