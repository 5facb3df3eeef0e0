import { randomBytes } from 'node:crypto';
import { FakeTwilioServer } from '../fakes/fake-twilio-server';
import { createTestDatabase, dropTestDatabase } from '../support/databases';
import { startFakeTwilio } from '../support/fake-twilio-app';
import { ServiceProcess, ServiceProcesses, serviceEnvironment } from '../support/service-process';
import { deleteRedisKeys } from '../support/test-app';
import { TEST_REDIS_URL } from '../support/test-environment';

/**
 * Three processes of the compiled service on one PostgreSQL database, one Redis key space and the
 * same secrets, as behind a load balancer, behave as one service: every limit, single-use
 * guarantee and cooldown holds across them. Requests go round-robin, most of them at once.
 */

const INSTANCES = 3;
const PASSWORD = 'lantern-mosaic-47';
const RATE_LIMITED = {
  success: false,
  message: 'Rate limit exceeded. Please try again later.',
  error: 'RATE_LIMITED',
};

interface Answer {
  status: number;
  headers: Headers;
  body: Record<string, unknown>;
}

let phoneCounter = 0;
function nextPhone(): string {
  phoneCounter += 1;
  return `+25193${String(phoneCounter).padStart(7, '0')}`;
}

async function post(
  instance: ServiceProcess,
  path: string,
  body: object,
  headers: Record<string, string> = {},
): Promise<Answer> {
  const response = await fetch(`${instance.baseUrl}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify(body),
    signal: AbortSignal.timeout(20_000),
  });
  const text = await response.text();
  return {
    status: response.status,
    headers: response.headers,
    body: text ? (JSON.parse(text) as Record<string, unknown>) : {},
  };
}

function statusCounts(answers: Answer[]): Record<number, number> {
  const counts: Record<number, number> = {};
  for (const { status } of answers) counts[status] = (counts[status] ?? 0) + 1;
  return counts;
}

/** A 429 in the error envelope, its Retry-After header and `retryAfter` agreeing. */
function expectRateLimited(answer: Answer, maxRetryAfterSeconds: number): void {
  expect(answer.status).toBe(429);
  expect(answer.body).toMatchObject(RATE_LIMITED);
  const retryAfter = Number(answer.headers.get('retry-after'));
  expect(answer.body.retryAfter).toBe(retryAfter);
  expect(retryAfter).toBeGreaterThanOrEqual(1);
  // A hit another instance stamped a few ms after this request read its clock leaves the window
  // those few ms after the window's length: 900.004 s is answered as 901.
  expect(retryAfter).toBeLessThanOrEqual(maxRetryAfterSeconds + 1);
}

/** `count` requests, the i-th to instance i mod 3, all at once. */
function roundRobin<T>(
  instances: ServiceProcess[],
  count: number,
  request: (instance: ServiceProcess, index: number) => Promise<T>,
): Promise<T[]> {
  return Promise.all(
    Array.from({ length: count }, (_, index) =>
      request(instances[index % instances.length], index),
    ),
  );
}

describe('Three app processes on one PostgreSQL and Redis behave as one service', () => {
  const services = new ServiceProcesses();
  const databases: string[] = [];
  const redisKeyPrefixes: string[] = [];
  let fake: FakeTwilioServer;

  beforeAll(async () => {
    fake = await startFakeTwilio();
  });
  afterAll(async () => {
    await services.cleanUp();
    await fake?.stop();
    for (const name of databases) await dropTestDatabase(name);
    for (const prefix of redisKeyPrefixes) await deleteRedisKeys(TEST_REDIS_URL, prefix);
  });

  /** Three instances sharing one fresh database, one Redis key prefix and `extra`. */
  async function startInstances(extra: Record<string, string>): Promise<ServiceProcess[]> {
    const database = await createTestDatabase();
    databases.push(database.name);
    const redisKeyPrefix = `test:instances:${randomBytes(6).toString('hex')}:`;
    redisKeyPrefixes.push(redisKeyPrefix);
    const environment = serviceEnvironment({
      databaseUrl: database.url,
      redisKeyPrefix,
      fake,
      extra: { ENABLE_SMS_ANALYTICS: 'false', ...extra },
    });
    return Promise.all(Array.from({ length: INSTANCES }, () => services.startServing(environment)));
  }

  function send(
    instance: ServiceProcess,
    phoneNumber: string,
    purpose = 'registration',
    headers: Record<string, string> = {},
  ): Promise<Answer> {
    return post(
      instance,
      '/sms/send-verification',
      { phoneNumber, purpose, locale: 'en' },
      headers,
    );
  }

  function messagesTo(phoneNumber: string) {
    return fake.messages.filter((message) => message.to === phoneNumber);
  }

  function lastCodeTo(phoneNumber: string): string {
    const body = messagesTo(phoneNumber).at(-1)?.body ?? '';
    const match = /\b(\d{6})\b/.exec(body);
    if (!match) throw new Error(`no code in the last SMS to ${phoneNumber}: "${body}"`);
    return match[1];
  }

  describe('per-phone limit and single use (no resend cooldown)', () => {
    const PHONE_LIMIT = 3;
    let instances: ServiceProcess[];

    beforeAll(async () => {
      instances = await startInstances({
        SMS_RATE_LIMIT_MAX_ATTEMPTS: String(PHONE_LIMIT),
        SMS_RESEND_COOLDOWNS: '0',
        // Room for many concurrent right codes: every one of them is counted as an attempt.
        SMS_MAX_ATTEMPTS: '10',
      });
    }, 90_000);

    it(`accepts exactly ${PHONE_LIMIT} of 12 concurrent sends to one phone, whichever instance takes them`, async () => {
      const phoneNumber = nextPhone();

      const answers = await roundRobin(instances, 12, (instance) => send(instance, phoneNumber));

      expect(statusCounts(answers)).toEqual({ 200: PHONE_LIMIT, 429: 12 - PHONE_LIMIT });
      // The window is 15 minutes; the oldest send leaves it in at most 900 s.
      for (const refused of answers.filter((answer) => answer.status === 429)) {
        expectRateLimited(refused, 900);
      }
      expect(messagesTo(phoneNumber)).toHaveLength(PHONE_LIMIT);
      // Each instance refuses the next one too.
      for (const instance of instances) expectRateLimited(await send(instance, phoneNumber), 900);
      expect(messagesTo(phoneNumber)).toHaveLength(PHONE_LIMIT);
    });

    it('approves one code once when it is checked on all three instances at once', async () => {
      const phoneNumber = nextPhone();
      expect((await send(instances[0], phoneNumber)).status).toBe(200);
      const code = lastCodeTo(phoneNumber);

      const answers = await roundRobin(instances, 9, (instance) =>
        post(instance, '/sms/verify-code', { phoneNumber, code, purpose: 'registration' }),
      );

      expect(statusCounts(answers)).toEqual({ 200: 1, 404: 8 });
      const approved = answers.find((answer) => answer.status === 200)!;
      expect(approved.body).toMatchObject({ status: 'approved', valid: true });
      expect(approved.body.verification_token).toEqual(expect.stringMatching(/^vt_/));
      for (const refused of answers.filter((answer) => answer.status === 404)) {
        expect(refused.body).toMatchObject({ success: false, error: 'VERIFICATION_NOT_FOUND' });
      }
    });

    describe('an account registered through one instance', () => {
      const phoneNumber = nextPhone();
      let refreshToken: string;

      beforeAll(async () => {
        // The code is asked for on one instance and used on another.
        expect((await send(instances[0], phoneNumber)).status).toBe(200);
        const registered = await post(instances[1], '/auth/register', {
          phoneNumber,
          password: PASSWORD,
          code: lastCodeTo(phoneNumber),
        });
        expect(registered.status).toBe(200);
        refreshToken = registered.body.refreshToken as string;
      });

      it('trades a refresh token for one successor when it is used on all three at once', async () => {
        const answers = await roundRobin(instances, 9, (instance) =>
          post(instance, '/auth/refresh', { refreshToken }),
        );

        expect(statusCounts(answers)).toEqual({ 200: 1, 401: 8 });
        for (const refused of answers.filter((answer) => answer.status === 401)) {
          expect(refused.body).toMatchObject({ success: false, error: 'INVALID_REFRESH_TOKEN' });
        }
        // The reuse revoked the family on every instance, the successor included.
        const successor = answers.find((answer) => answer.status === 200)!.body.refreshToken;
        for (const instance of instances) {
          const refreshed = await post(instance, '/auth/refresh', { refreshToken: successor });
          expect(refreshed.status).toBe(401);
        }
      });

      it('logs in once with a verification token used on all three at once', async () => {
        expect((await send(instances[2], phoneNumber, 'login')).status).toBe(200);
        const approved = await post(instances[0], '/sms/verify-code', {
          phoneNumber,
          code: lastCodeTo(phoneNumber),
          purpose: 'login',
        });
        expect(approved.status).toBe(200);
        const verificationToken = approved.body.verification_token as string;

        const answers = await roundRobin(instances, 9, (instance) =>
          post(instance, '/auth/login-sms', { phoneNumber, verificationToken }),
        );

        expect(statusCounts(answers)).toEqual({ 200: 1, 401: 8 });
        expect(answers.find((answer) => answer.status === 200)!.body).toMatchObject({
          tokenType: 'Bearer',
          user: { phoneNumber },
        });
        for (const refused of answers.filter((answer) => answer.status === 401)) {
          expect(refused.body).toMatchObject({ success: false, error: 'INVALID_CODE' });
        }
      });
    });
  });

  describe('resend cooldown and per-IP limit', () => {
    const COOLDOWN_SECONDS = 600;
    const IP_LIMIT = 4;
    let instances: ServiceProcess[];

    beforeAll(async () => {
      instances = await startInstances({
        // Ten minutes: however slow the machine, the cooldown cannot run out during the test.
        SMS_RESEND_COOLDOWNS: String(COOLDOWN_SECONDS),
        SMS_IP_LIMIT: String(IP_LIMIT),
        // The load balancer in front of the instances is on loopback; X-Forwarded-For names the
        // client.
        TRUST_PROXY: '127.0.0.1',
      });
    }, 90_000);

    it('refuses an immediate resend on another instance, and on all of them at once', async () => {
      const phoneNumber = nextPhone();
      expect((await send(instances[0], phoneNumber)).status).toBe(200);

      expectRateLimited(await send(instances[1], phoneNumber), COOLDOWN_SECONDS);
      const answers = await roundRobin(instances, 9, (instance) => send(instance, phoneNumber));
      for (const answer of answers) expectRateLimited(answer, COOLDOWN_SECONDS);
      expect(messagesTo(phoneNumber)).toHaveLength(1);
    });

    it(`lets one client address send ${IP_LIMIT} codes in total across the instances`, async () => {
      const client = { 'x-forwarded-for': '198.51.100.23' };
      const phones = Array.from({ length: 9 }, nextPhone);

      const answers = await roundRobin(instances, phones.length, (instance, index) =>
        send(instance, phones[index], 'registration', client),
      );

      expect(statusCounts(answers)).toEqual({ 200: IP_LIMIT, 429: phones.length - IP_LIMIT });
      for (const refused of answers.filter((answer) => answer.status === 429)) {
        expectRateLimited(refused, 900);
      }
      const delivered = phones.filter((phoneNumber) => messagesTo(phoneNumber).length > 0);
      expect(delivered).toHaveLength(IP_LIMIT);
      // Another client behind the same proxy is not affected.
      const other = await send(instances[0], nextPhone(), 'registration', {
        'x-forwarded-for': '198.51.100.24',
      });
      expect(other.status).toBe(200);
    });
  });
});
