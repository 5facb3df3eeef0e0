import { ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ENVIRONMENT_SECTIONS, readEnvironment } from '../../src/config/environment';
import { freePorts, startRedisServer, stopRedisServer } from '../support/redis-server';
import {
  LIMITS_UNAVAILABLE,
  closeOpenApps,
  codeSentTo,
  describeSmsRateLimits,
  expectRateLimited,
  nextPhone,
  providerCallsTo,
  setUpSmsRateLimitApps,
  startLimitedApp,
} from '../support/sms-rate-limits';

/**
 * The limit layers of issue 4 through HTTP on each store (the machine's Redis, PostgreSQL,
 * memory; test/support/sms-rate-limits.ts), then what only a single Redis shows: failing closed
 * while it is down. The same behaviour on a Redis Cluster: test/resilience/redis-cluster.e2e-spec.ts.
 */

setUpSmsRateLimitApps();

describeSmsRateLimits('redis');
describeSmsRateLimits('postgres');
describeSmsRateLimits('memory');

describe('SMS rate limits while Redis is down', () => {
  let redisPort: number;
  let redis: ChildProcess | undefined;

  async function startRedis(): Promise<void> {
    redis = await startRedisServer(redisPort);
  }

  async function stopRedis(): Promise<void> {
    const child = redis;
    redis = undefined;
    await stopRedisServer(child);
  }

  beforeAll(async () => {
    [redisPort] = await freePorts(1);
    await startRedis();
  });
  afterAll(async () => {
    await closeOpenApps();
    await stopRedis();
  });

  it('fails closed with 503, keeps /health up, and recovers by itself', async () => {
    const app = await startLimitedApp('redis', {
      env: {
        REDIS_URL: `redis://127.0.0.1:${redisPort}`,
        SMS_RATE_LIMIT_MAX_ATTEMPTS: '5',
        SMS_RESEND_COOLDOWNS: '0',
      },
    });
    const phoneNumber = nextPhone();
    await app.send(phoneNumber).expect(200);
    expect(providerCallsTo(phoneNumber)).toBe(1);

    await stopRedis();

    for (const candidate of [phoneNumber, nextPhone()]) {
      const refused = await app.send(candidate);
      expect(refused.status).toBe(503);
      expect(refused.body).toEqual({ ...LIMITS_UNAVAILABLE, retryAfter: 5 });
      expect(refused.headers['retry-after']).toBe('5');
      expect(providerCallsTo(candidate)).toBe(candidate === phoneNumber ? 1 : 0);
    }
    const check = await app.verify(phoneNumber, codeSentTo(phoneNumber));
    expect(check.status).toBe(503);
    expect(check.body).toEqual({ ...LIMITS_UNAVAILABLE, retryAfter: 5 });
    await app.service.http().get('/health').expect(200, { status: 'ok' });

    await startRedis();

    // The client reconnects on its own (back-off of at most 2 s); refused polls cost nothing.
    const recovered = nextPhone();
    const deadline = Date.now() + 15_000;
    let status = 0;
    while (Date.now() < deadline) {
      status = (await app.send(recovered)).status;
      if (status !== 503) break;
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    expect(status).toBe(200);

    // The restarted Redis is empty, and its limits apply again.
    for (let send = 0; send < 4; send += 1) await app.send(recovered).expect(200);
    expectRateLimited(await app.send(recovered));
    expect(providerCallsTo(recovered)).toBe(5);
  }, 30_000);
});

describe('.env.example', () => {
  const RATE_LIMIT_VARIABLE =
    /^(SMS_RATE_LIMIT_|SMS_IP_|SMS_COUNTRY_LIMIT|SMS_PREFIX_|SMS_VERIFY_|HTTP_THROTTLE_)|^(SMS_RESEND_COOLDOWNS|SMS_PURPOSE_LIMITS)$/;

  function exampleLines(): { set: Map<string, string>; commented: Set<string> } {
    const text = readFileSync(join(__dirname, '..', '..', '.env.example'), 'utf8');
    const set = new Map<string, string>();
    const commented = new Set<string>();
    for (const line of text.split(/\r?\n/)) {
      const active = /^([A-Z][A-Z0-9_]*)=(.*)$/.exec(line);
      if (active) set.set(active[1], active[2].trim().replace(/^(['"])(.*)\1$/, '$2'));
      const optional = /^#\s*([A-Z][A-Z0-9_]*)=/.exec(line);
      if (optional) commented.add(optional[1]);
    }
    return { set, commented };
  }

  it('shows every rate-limit layer with the schema default', () => {
    const defaults: Record<string, unknown> = Object.assign(
      {},
      ...ENVIRONMENT_SECTIONS.map((section) => new section()),
    );
    const names = Object.keys(defaults).filter(
      (name) => RATE_LIMIT_VARIABLE.test(name) && defaults[name] !== undefined,
    );
    expect(names.length).toBeGreaterThanOrEqual(17);
    const { set } = exampleLines();

    const missing = names.filter((name) => !set.has(name));
    const different = names
      .filter((name) => set.has(name))
      .filter((name) => {
        const parsed = readEnvironment({ [name]: set.get(name) }).environment as unknown as Record<
          string,
          unknown
        >;
        return parsed[name] !== defaults[name];
      })
      .map((name) => `${name}=${set.get(name)} (default ${String(defaults[name])})`);
    expect({ missing, different }).toEqual({ missing: [], different: [] });
  });

  it('documents RATE_LIMIT_STORE (optional, so as a commented line)', () => {
    const { set, commented } = exampleLines();
    expect(set.has('RATE_LIMIT_STORE') || commented.has('RATE_LIMIT_STORE')).toBe(true);
  });
});
