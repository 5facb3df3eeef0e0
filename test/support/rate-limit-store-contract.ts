import Redis, { Cluster } from 'ioredis';
import { randomBytes } from 'node:crypto';
import { MemoryRateLimitStore } from '../../src/rate-limit/store/memory-rate-limit.store';
import {
  ConsumeResult,
  CooldownRule,
  DistinctRule,
  LimitRule,
  RateLimitStore,
  WindowRule,
} from '../../src/rate-limit/store/rate-limit-store';
import { RedisRateLimitStore } from '../../src/rate-limit/store/redis-rate-limit.store';

/**
 * One contract for the rate-limit stores: the same calls must get the same answers from Redis
 * (one node or a cluster), PostgreSQL and memory, and the shared stores must stay exact under
 * concurrency, from one instance or two. Used by test/e2e/rate-limit-stores.e2e-spec.ts and
 * test/resilience/redis-cluster.e2e-spec.ts.
 */

export const SECOND = 1_000;
export const MINUTE = 60 * SECOND;

export interface Harness {
  store: RateLimitStore;
  /** A second instance on its own connections, sharing the counters; memory has none. */
  otherInstance: RateLimitStore | null;
  close(): Promise<void>;
}

export interface RedisHarness extends Harness {
  prefix: string;
  client: Redis | Cluster;
}

/** SCAN sees one node only: on a cluster every primary is scanned. */
async function deleteKeys(client: Redis | Cluster, prefix: string): Promise<void> {
  const nodes = client instanceof Cluster ? client.nodes('master') : [client];
  for (const node of nodes) {
    let cursor = '0';
    do {
      const [next, keys] = await node.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 500);
      if (keys.length > 0) await node.del(...keys);
      cursor = next;
    } while (cursor !== '0');
  }
}

/** Two store instances on their own clients from `connect`, under a fresh key prefix. */
export async function openRedisHarness(connect: () => Redis | Cluster): Promise<RedisHarness> {
  const prefix = `test:${randomBytes(6).toString('hex')}:`;
  const [client, otherClient] = [connect(), connect()];
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

/** Keys unique to one test, so tests sharing a Redis prefix or a database never meet. */
export function keys() {
  const run = randomBytes(4).toString('hex');
  return (name: string) => `${name}:${run}`;
}

export const window = (
  key: string,
  limit: number,
  windowMs: number,
  layer = 'phone',
): WindowRule => ({
  type: 'window',
  layer,
  key,
  limit,
  windowMs,
});

export const distinct = (
  key: string,
  member: string,
  limit: number,
  windowMs: number,
): DistinctRule => ({
  type: 'distinct',
  layer: 'ip-phones',
  key,
  member,
  limit,
  windowMs,
});

export const cooldown = (key: string): CooldownRule => ({
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

export function describeRateLimitStoreContract(kind: string, open: () => Promise<Harness>): void {
  describe(`${kind} rate-limit store (shared contract)`, () => {
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
          {
            ...cooldown(key(`cooldown:${phone}`)),
            stepsMs: [2 * SECOND, 10 * SECOND, 30 * SECOND],
          },
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
        // Memory is per process by design: N instances allow N times the limit (docs/SECURITY.md
        // rule 8).
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
}
