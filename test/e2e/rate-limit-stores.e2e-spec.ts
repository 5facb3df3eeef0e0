import Redis from 'ioredis';
import { loadConfiguration } from '../../src/config/load-configuration';
import { Sql } from '../../src/database/sql';
import { createDatabasePool, endPool, poolConfig } from '../../src/database/database-pool';
import { MemoryRateLimitStore } from '../../src/rate-limit/store/memory-rate-limit.store';
import {
  PostgresRateLimitStore,
  storageIdentifier,
} from '../../src/rate-limit/store/postgres-rate-limit.store';
import { LimitRule } from '../../src/rate-limit/store/rate-limit-store';
import { RedisRateLimitStore } from '../../src/rate-limit/store/redis-rate-limit.store';
import { createTestDatabase, dropTestDatabase } from '../support/databases';
import {
  Harness,
  MINUTE,
  RedisHarness,
  SECOND,
  cooldown,
  describeRateLimitStoreContract,
  distinct,
  keys,
  openRedisHarness,
  window,
} from '../support/rate-limit-store-contract';
import { TEST_REDIS_URL } from '../support/test-environment';

/**
 * The stores' shared contract (test/support/rate-limit-store-contract.ts) on memory, the
 * machine's Redis and PostgreSQL, then what is particular to Redis and to PostgreSQL.
 */

interface PostgresHarness extends Harness {
  sql: Sql;
  store: PostgresRateLimitStore;
}

function redisClient(): Redis {
  return new Redis(TEST_REDIS_URL, { maxRetriesPerRequest: 1 });
}

async function openMemory(): Promise<Harness> {
  return { store: new MemoryRateLimitStore(), otherInstance: null, close: async () => undefined };
}

const openRedis = () => openRedisHarness(redisClient);

async function openPostgres(): Promise<PostgresHarness> {
  const database = await createTestDatabase();
  const configuration = loadConfiguration({ NODE_ENV: 'test', DATABASE_URL: database.url });
  // Two instances: two pools on one database.
  const pools = [0, 1].map(() => createDatabasePool(poolConfig(configuration.database)));
  const [sql, otherSql] = pools.map((pool) => new Sql(pool, database.url));
  return {
    sql,
    store: new PostgresRateLimitStore(sql),
    otherInstance: new PostgresRateLimitStore(otherSql),
    async close() {
      await Promise.all(pools.map(endPool));
      await dropTestDatabase(database.name);
    },
  };
}

describeRateLimitStoreContract('memory', openMemory);
describeRateLimitStoreContract('redis', openRedis);
describeRateLimitStoreContract('postgres', openPostgres);

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
    harness.sql.rows<Record<string, unknown>>(
      `SELECT "identifier", "limit_type", "count", "hits", "members", "expires_at"
       FROM "sms_rate_limits" WHERE "identifier" = ANY($1) ORDER BY "identifier"`,
      [storeKeys.map(storageIdentifier)],
    );

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
