import Redis from 'ioredis';
import { randomBytes } from 'node:crypto';
import { DataSource } from 'typeorm';
import { loadConfiguration } from '../../src/config/load-configuration';
import { typeOrmOptions } from '../../src/database/typeorm-options';
import { MemoryRateLimitStore } from '../../src/rate-limit/store/memory-rate-limit.store';
import {
  PostgresRateLimitStore,
  storageIdentifier,
} from '../../src/rate-limit/store/postgres-rate-limit.store';
import {
  ConsumeResult,
  CooldownRule,
  DistinctRule,
  LimitRule,
  RateLimitStore,
  WindowRule,
} from '../../src/rate-limit/store/rate-limit-store';
import { RedisRateLimitStore } from '../../src/rate-limit/store/redis-rate-limit.store';
import { createTestDatabase, dropTestDatabase } from '../support/databases';
import { TEST_REDIS_URL } from '../support/test-environment';

/**
 * One contract for the three rate-limit stores: the same calls must get the same answers from
 * Redis, PostgreSQL and memory, and the shared stores must stay exact under concurrency, from
 * one instance or two.
 */

const SECOND = 1_000;
const MINUTE = 60 * SECOND;

interface Harness {
  store: RateLimitStore;
  /** A second instance on its own connections, sharing the counters; memory has none. */
  otherInstance: RateLimitStore | null;
  close(): Promise<void>;
}

interface RedisHarness extends Harness {
  prefix: string;
  client: Redis;
}

interface PostgresHarness extends Harness {
  dataSource: DataSource;
  store: PostgresRateLimitStore;
}

function redisClient(): Redis {
  return new Redis(TEST_REDIS_URL, { maxRetriesPerRequest: 1 });
}

async function deleteKeys(client: Redis, prefix: string): Promise<void> {
  let cursor = '0';
  do {
    const [next, keys] = await client.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 500);
    if (keys.length > 0) await client.del(...keys);
    cursor = next;
  } while (cursor !== '0');
}

async function openMemory(): Promise<Harness> {
  return { store: new MemoryRateLimitStore(), otherInstance: null, close: async () => undefined };
}

async function openRedis(): Promise<RedisHarness> {
  const prefix = `test:${randomBytes(6).toString('hex')}:`;
  const [client, otherClient] = [redisClient(), redisClient()];
  return {
    prefix,
    client,
    store: new RedisRateLimitStore(client, prefix),
    otherInstance: new RedisRateLimitStore(otherClient, prefix),
    async close() {
      await deleteKeys(client, prefix);
      await Promise.all([client.quit(), otherClient.quit()]);
    },
  };
}

async function openPostgres(): Promise<PostgresHarness> {
  const database = await createTestDatabase();
  const configuration = loadConfiguration({ NODE_ENV: 'test', DATABASE_URL: database.url });
  const open = () =>
    new DataSource({
      ...typeOrmOptions(configuration.database),
      migrationsRun: false,
    }).initialize();
  const [dataSource, otherDataSource] = await Promise.all([open(), open()]);
  return {
    dataSource,
    store: new PostgresRateLimitStore(dataSource),
    otherInstance: new PostgresRateLimitStore(otherDataSource),
    async close() {
      await Promise.all([dataSource.destroy(), otherDataSource.destroy()]);
      await dropTestDatabase(database.name);
    },
  };
}

/** Keys unique to one test, so tests sharing a Redis prefix or a database never meet. */
function keys() {
  const run = randomBytes(4).toString('hex');
  return (name: string) => `${name}:${run}`;
}

const window = (key: string, limit: number, windowMs: number, layer = 'phone'): WindowRule => ({
  type: 'window',
  layer,
  key,
  limit,
  windowMs,
});

const distinct = (key: string, member: string, limit: number, windowMs: number): DistinctRule => ({
  type: 'distinct',
  layer: 'ip-phones',
  key,
  member,
  limit,
  windowMs,
});

const cooldown = (key: string): CooldownRule => ({
  type: 'cooldown',
  layer: 'cooldown',
  key,
  stepsMs: [30 * SECOND, 60 * SECOND, 300 * SECOND],
  resetAfterMs: 60 * MINUTE,
});

/** A small seeded generator (mulberry32), so a failing scenario replays identically. */
function seeded(seed: number): (below: number) => number {
  let state = seed >>> 0;
  return (below) => {
    state = (state + 0x6d2b79f5) >>> 0;
    let mixed = Math.imul(state ^ (state >>> 15), state | 1);
    mixed ^= mixed + Math.imul(mixed ^ (mixed >>> 7), mixed | 61);
    return (((mixed ^ (mixed >>> 14)) >>> 0) % below) as number;
  };
}

const STORES: [string, () => Promise<Harness>][] = [
  ['memory', openMemory],
  ['redis', openRedis],
  ['postgres', openPostgres],
];

describe.each(STORES)('%s rate-limit store (shared contract)', (_kind, open) => {
  let harness: Harness;
  let key: (name: string) => string;
  let now: number;

  beforeAll(async () => {
    harness = await open();
  });
  afterAll(() => harness.close());
  beforeEach(() => {
    key = keys();
    now = Date.now();
  });

  const consume = (rules: LimitRule[], at: number) => harness.store.consume(rules, at);

  it('slides its window: a 6th hit waits exactly until the oldest of 5 leaves', async () => {
    const phone = window(key('phone'), 5, 10 * MINUTE);
    for (const minute of [0, 1, 3, 6, 9]) {
      expect((await consume([phone], now + minute * MINUTE)).allowed).toBe(true);
    }
    expect(await consume([phone], now + 10 * MINUTE - 1)).toEqual({
      allowed: false,
      rejected: { layer: 'phone', limit: 5, retryAfterMs: 1 },
      states: [{ layer: 'phone', limit: 5, remaining: 0, resetMs: 1 }],
    });
    expect(await consume([phone], now + 10 * MINUTE)).toEqual({
      allowed: true,
      states: [{ layer: 'phone', limit: 5, remaining: 0, resetMs: MINUTE }],
    });
  });

  it('consumes nothing when one rule refuses (an IP flood keeps the phone quota)', async () => {
    const ip = window(key('ip'), 2, MINUTE, 'ip');
    const phone = window(key('phone'), 5, MINUTE);
    for (let call = 0; call < 20; call += 1) await consume([ip, phone], now + call);

    const result = await consume([window(key('other-ip'), 2, MINUTE, 'ip'), phone], now + 100);
    expect(result.allowed).toBe(true);
    expect(result.states[1]).toEqual({
      layer: 'phone',
      limit: 5,
      remaining: 2,
      resetMs: MINUTE - 100,
    });
  });

  it('names the first refusing rule in the given order and reports every state', async () => {
    const ip = window(key('ip'), 1, MINUTE, 'ip');
    const phone = window(key('phone'), 1, 2 * MINUTE);
    await consume([ip, phone], now);
    expect(await consume([phone, ip], now + SECOND)).toEqual({
      allowed: false,
      rejected: { layer: 'phone', limit: 1, retryAfterMs: 2 * MINUTE - SECOND },
      states: [
        { layer: 'phone', limit: 1, remaining: 0, resetMs: 2 * MINUTE - SECOND },
        { layer: 'ip', limit: 1, remaining: 0, resetMs: MINUTE - SECOND },
      ],
    });
  });

  it('counts distinct members, allowing a known one again and refreshing it', async () => {
    const ipPhones = key('ip-phones');
    const seen = (member: string, at: number) =>
      consume([distinct(ipPhones, member, 2, 10 * MINUTE)], at);
    expect((await seen('phone-1', now)).allowed).toBe(true);
    expect((await seen('phone-2', now + MINUTE)).allowed).toBe(true);
    expect((await seen('phone-1', now + 2 * MINUTE)).allowed).toBe(true);
    expect(await seen('phone-3', now + 3 * MINUTE)).toEqual({
      allowed: false,
      rejected: { layer: 'ip-phones', limit: 2, retryAfterMs: 8 * MINUTE },
      states: [{ layer: 'ip-phones', limit: 2, remaining: 0, resetMs: 8 * MINUTE }],
    });
    expect((await seen('phone-3', now + 11 * MINUTE)).allowed).toBe(true);
    expect((await seen('phone-2', now + 11 * MINUTE)).allowed).toBe(false);
  });

  it('grows the resend delay 30 s → 60 s → 300 s and resets it after quiet', async () => {
    const rule = cooldown(key('cooldown'));
    let at = now;
    await consume([rule], at);
    for (const delay of [30, 60, 300, 300].map((seconds) => seconds * SECOND)) {
      expect((await consume([rule], at + delay - 1)).rejected?.retryAfterMs).toBe(1);
      at += delay;
      expect((await consume([rule], at)).allowed).toBe(true);
    }
    const afterQuiet = await consume([rule], at + 60 * MINUTE);
    expect(afterQuiet).toEqual({
      allowed: true,
      states: [{ layer: 'cooldown', limit: 1, remaining: 0, resetMs: 30 * SECOND }],
    });
  });

  it('forgets reset keys and only those', async () => {
    const wrongCodes = window(key('verify-phone'), 2, MINUTE, 'verify-phone');
    const ip = window(key('verify-ip'), 10, MINUTE, 'verify-ip');
    await consume([wrongCodes, ip], now);
    await consume([wrongCodes, ip], now + 1);
    expect((await consume([wrongCodes], now + 2)).allowed).toBe(false);
    await harness.store.reset([wrongCodes.key, key('never-used')]);
    const after = await consume([wrongCodes, ip], now + 3);
    expect(after.states.map((state) => state.remaining)).toEqual([1, 7]);
  });

  it('keeps keys longer than 64 characters apart', async () => {
    const shared = 'x'.repeat(70);
    const first = window(key(`${shared}:first`), 1, MINUTE);
    const second = window(key(`${shared}:second`), 1, MINUTE);
    expect((await consume([first], now)).allowed).toBe(true);
    expect((await consume([second], now)).allowed).toBe(true);
    expect((await consume([first], now + 1)).allowed).toBe(false);
  });

  it('answers a long mixed scenario exactly like the in-memory reference', async () => {
    const reference = new MemoryRateLimitStore();
    const random = seeded(20_251_125);
    const differences: string[] = [];
    let at = now;
    for (let call = 0; call < 300; call += 1) {
      at += random(4) === 0 ? 0 : random(15 * SECOND);
      const phone = `phone-${random(4)}`;
      const ip = random(3);
      if (random(20) === 0) {
        const forgotten = [key(`phone:${phone}`), key(`cooldown:${phone}`)];
        await Promise.all([harness.store.reset(forgotten), reference.reset(forgotten)]);
      }
      const candidates: LimitRule[] = [
        window(key(`ip:${ip}`), 4, MINUTE, 'ip'),
        distinct(key(`ip-phones:${ip}`), phone, 2, 90 * SECOND),
        { ...cooldown(key(`cooldown:${phone}`)), stepsMs: [2 * SECOND, 10 * SECOND, 30 * SECOND] },
        window(key(`phone:${phone}`), 2, 45 * SECOND),
        window(key('global'), 4, 30 * SECOND, 'global'),
      ];
      const rules = candidates.filter(() => random(10) < 7);
      for (let index = rules.length - 1; index > 0; index -= 1) {
        const other = random(index + 1);
        [rules[index], rules[other]] = [rules[other], rules[index]];
      }
      const [actual, expected]: ConsumeResult[] = [
        await harness.store.consume(rules, at),
        await reference.consume(rules, at),
      ];
      if (JSON.stringify(actual) !== JSON.stringify(expected)) {
        differences.push(`call ${call}: ${JSON.stringify(actual)} ≠ ${JSON.stringify(expected)}`);
      }
    }
    expect(differences).toEqual([]);
  });

  it('allows exactly 5 of 100 concurrent calls on one key with limit 5', async () => {
    const rule = window(key('phone'), 5, MINUTE);
    const results = await Promise.all(
      Array.from({ length: 100 }, () => harness.store.consume([rule], now)),
    );
    const allowed = results.filter((result) => result.allowed);
    expect(allowed).toHaveLength(5);
    // Serialized: each accepted call saw the one before it.
    expect(allowed.map((result) => result.states[0].remaining).sort()).toEqual([0, 1, 2, 3, 4]);
  });

  it('stays all-or-nothing under concurrent calls that share some keys', async () => {
    const phone = window(key('phone'), 10, MINUTE);
    const results = await Promise.all(
      Array.from({ length: 60 }, (_, call) => {
        const ip = window(key(`ip:${call % 3}`), 2, MINUTE, 'ip');
        // Both orders, so a store locking keys in call order would deadlock here.
        return harness.store.consume(call % 2 === 0 ? [ip, phone] : [phone, ip], now);
      }),
    );
    expect(results.filter((result) => result.allowed)).toHaveLength(6);
    const after = await consume([phone], now + 1);
    expect(after.states[0].remaining).toBe(3);
  });

  it('shares one limit between two instances under concurrency', async () => {
    if (!harness.otherInstance) {
      // Memory is per process by design: N instances allow N times the limit (SECURITY.md 8).
      return;
    }
    const instances = [harness.store, harness.otherInstance];
    const rule = window(key('phone'), 5, MINUTE);
    const results = await Promise.all(
      Array.from({ length: 100 }, (_, call) => instances[call % 2].consume([rule], now)),
    );
    expect(results.filter((result) => result.allowed)).toHaveLength(5);
    const cooldownRule = cooldown(key('cooldown'));
    const cooled = await Promise.all(
      Array.from({ length: 20 }, (_, call) => instances[call % 2].consume([cooldownRule], now)),
    );
    expect(cooled.filter((result) => result.allowed)).toHaveLength(1);
  });
});

describe('Redis rate-limit store specifics', () => {
  let harness: RedisHarness;
  let key: (name: string) => string;

  beforeAll(async () => {
    harness = await openRedis();
  });
  afterAll(() => harness.close());
  beforeEach(() => {
    key = keys();
  });

  it('makes one round trip (one EVALSHA) per consume()', async () => {
    const rules: LimitRule[] = [
      window(key('ip'), 10, MINUTE, 'ip'),
      distinct(key('ip-phones'), 'phone-a', 3, MINUTE),
      cooldown(key('cooldown')),
      window(key('phone'), 5, MINUTE),
    ];
    await harness.store.consume(rules, Date.now());

    const monitor = await new Redis(TEST_REDIS_URL, { lazyConnect: true }).monitor();
    const commands: { name: string; fromScript: boolean }[] = [];
    monitor.on('monitor', (_time: string, args: string[], source: string) => {
      if (args.some((arg) => arg.includes(harness.prefix))) {
        commands.push({ name: args[0].toLowerCase(), fromScript: source === 'lua' });
      }
    });
    try {
      for (let call = 0; call < 3; call += 1) await harness.store.consume(rules, Date.now());
      const marker = `${harness.prefix}marker`;
      await harness.client.exists(marker);
      await waitFor(() => commands.some((command) => command.name === 'exists'));

      const sent = commands.filter((command) => !command.fromScript && command.name !== 'exists');
      expect(sent.map((command) => command.name)).toEqual(['evalsha', 'evalsha', 'evalsha']);
      expect(commands.some((command) => command.fromScript)).toBe(true);
    } finally {
      monitor.disconnect();
    }
  });

  it('puts every key under the prefix and one hash tag, expiring with its window', async () => {
    const now = Date.now();
    await harness.store.consume(
      [
        window(key('phone'), 5, 2 * MINUTE),
        distinct(key('ip-phones'), 'phone-a', 3, 5 * MINUTE),
        cooldown(key('cooldown')),
      ],
      now,
    );
    const stored = await harness.client.keys(`${harness.prefix}*`);
    expect(stored.length).toBeGreaterThanOrEqual(3);
    for (const name of stored) expect(name.startsWith(`${harness.prefix}{rl}:`)).toBe(true);

    const ttl = (name: string) => harness.client.pttl(`${harness.prefix}{rl}:${key(name)}`);
    expect(await ttl('phone')).toBeGreaterThan(2 * MINUTE - 5 * SECOND);
    expect(await ttl('phone')).toBeLessThanOrEqual(2 * MINUTE);
    expect(await ttl('ip-phones')).toBeLessThanOrEqual(5 * MINUTE);
    expect(await ttl('cooldown')).toBeLessThanOrEqual(60 * MINUTE);
    expect(await ttl('cooldown')).toBeGreaterThan(59 * MINUTE);
  });

  it('holds at most `limit` hits per window key', async () => {
    const rule = window(key('global'), 3, MINUTE, 'global');
    const start = Date.now();
    for (let call = 0; call < 200; call += 1) {
      await harness.store.consume([rule], start + call * SECOND);
    }
    expect(await harness.client.zcard(`${harness.prefix}{rl}:${rule.key}`)).toBe(3);
  });

  it('loads the script again when Redis has lost it (restart, failover)', async () => {
    const client = redisClient();
    try {
      const store = new RedisRateLimitStore(client, harness.prefix);
      const evalsha = jest
        .spyOn(client, 'evalsha')
        .mockRejectedValueOnce(new Error('NOSCRIPT No matching script. Please use EVAL.'));
      const evalSpy = jest.spyOn(client, 'eval');
      const result = await store.consume([window(key('phone'), 1, MINUTE)], Date.now());
      expect(result.allowed).toBe(true);
      expect(evalsha).toHaveBeenCalledTimes(1);
      expect(evalSpy).toHaveBeenCalledTimes(1);
    } finally {
      await client.quit();
    }
  });

  it('lets the error through when Redis is down, so the caller can fail closed', async () => {
    const unreachable = new Redis('redis://127.0.0.1:1', {
      lazyConnect: true,
      enableOfflineQueue: false,
      maxRetriesPerRequest: 0,
      retryStrategy: () => null,
    });
    try {
      const store = new RedisRateLimitStore(unreachable, harness.prefix);
      await expect(store.consume([window(key('phone'), 1, MINUTE)], Date.now())).rejects.toThrow();
      await expect(store.reset([key('phone')])).rejects.toThrow();
    } finally {
      unreachable.disconnect();
    }
  });
});

describe('PostgreSQL rate-limit store specifics', () => {
  let harness: PostgresHarness;
  let key: (name: string) => string;

  beforeAll(async () => {
    harness = await openPostgres();
  });
  afterAll(() => harness.close());
  beforeEach(() => {
    key = keys();
  });

  const rowsFor = (...storeKeys: string[]) =>
    harness.dataSource.query(
      `SELECT "identifier", "limit_type", "count", "hits", "members", "expires_at"
       FROM "sms_rate_limits" WHERE "identifier" = ANY($1) ORDER BY "identifier"`,
      [storeKeys.map(storageIdentifier)],
    ) as Promise<Record<string, unknown>[]>;

  it('leaves no row behind for a refused call', async () => {
    const now = Date.now();
    const ip = window(key('ip'), 1, MINUTE, 'ip');
    await harness.store.consume([ip], now);
    const phones = Array.from({ length: 20 }, (_, phone) => key(`phone:${phone}`));
    for (const phone of phones) {
      await harness.store.consume([ip, window(phone, 5, MINUTE)], now + 1);
    }
    expect(await rowsFor(...phones)).toEqual([]);
  });

  it('stores the sliding log, hashing long keys, and deletes rows that no longer count', async () => {
    const now = Date.now();
    const longKey = key(`phone:${'a'.repeat(80)}`);
    const ipPhones = key('ip-phones');
    await harness.store.consume(
      [window(longKey, 5, MINUTE), distinct(ipPhones, 'phone-a', 3, 2 * MINUTE)],
      now,
    );
    const rows = await rowsFor(longKey, ipPhones);
    expect(rows).toHaveLength(2);
    const byType = new Map(rows.map((row) => [row.limit_type, row]));
    expect(byType.get('phone')).toMatchObject({
      identifier: expect.stringMatching(/^[0-9a-f]{64}$/),
      count: 1,
      hits: [String(now)],
      members: [],
      expires_at: new Date(now + MINUTE),
    });
    expect(byType.get('ip-phones')).toMatchObject({ count: 1, members: ['phone-a'] });

    await harness.store.removeExpired(now + MINUTE);
    expect((await rowsFor(longKey, ipPhones)).map((row) => row.limit_type)).toEqual(['ip-phones']);
    await harness.store.removeExpired(now + 2 * MINUTE);
    expect(await rowsFor(longKey, ipPhones)).toEqual([]);
  });

  it('takes up a deleted row again while calls race with resets and sweeps', async () => {
    const now = Date.now();
    const rule = window(key('phone'), 1_000, MINUTE);
    const calls = Array.from({ length: 60 }, (_, call) =>
      call % 10 === 5
        ? harness.store.reset([rule.key]).then(() => undefined)
        : harness.store.consume([rule], now + call).then(() => undefined),
    );
    calls.push(harness.store.removeExpired(now + 10 * MINUTE).then(() => undefined));
    await expect(Promise.all(calls)).resolves.toBeDefined();
  });
});

async function waitFor(condition: () => boolean, timeoutMs = 2_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}
