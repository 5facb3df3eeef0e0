import { MemoryRateLimitStore, RateLimitStoreFullError } from './memory-rate-limit.store';
import {
  CooldownRule,
  DistinctRule,
  InvalidLimitRuleError,
  LimitRule,
  WindowRule,
} from './rate-limit-store';

const SECOND = 1_000;
const MINUTE = 60 * SECOND;
const T0 = Date.UTC(2025, 0, 1);

const window = (key: string, limit: number, windowMs: number, layer = key): WindowRule => ({
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

const resendCooldown: CooldownRule = {
  type: 'cooldown',
  layer: 'cooldown',
  key: 'cooldown:phone-a',
  stepsMs: [30 * SECOND, 60 * SECOND, 300 * SECOND],
  resetAfterMs: 60 * MINUTE,
};

describe('MemoryRateLimitStore', () => {
  let store: MemoryRateLimitStore;

  beforeEach(() => {
    store = new MemoryRateLimitStore();
  });

  const allowed = async (rules: LimitRule[], at: number) =>
    (await store.consume(rules, at)).allowed;

  describe('sliding window', () => {
    const phone = window('phone:a', 5, 10 * MINUTE, 'phone');

    it('refuses a 6th hit until the oldest of 5 spread hits leaves the window', async () => {
      for (const minute of [0, 1, 3, 6, 9]) {
        expect(await allowed([phone], T0 + minute * MINUTE)).toBe(true);
      }

      const early = await store.consume([phone], T0 + 10 * MINUTE - 1);
      expect(early).toEqual({
        allowed: false,
        rejected: { layer: 'phone', limit: 5, retryAfterMs: 1 },
        states: [{ layer: 'phone', limit: 5, remaining: 0, resetMs: 1 }],
      });

      const onTime = await store.consume([phone], T0 + 10 * MINUTE);
      expect(onTime.allowed).toBe(true);
      // The hit of minute 1 is now the oldest: it leaves at minute 11.
      expect(onTime.states).toEqual([{ layer: 'phone', limit: 5, remaining: 0, resetMs: MINUTE }]);
      expect(await allowed([phone], T0 + 11 * MINUTE - 1)).toBe(false);
    });

    it('never lets a fixed-window boundary double the limit', async () => {
      const rule = window('phone:b', 5, MINUTE);
      for (let hit = 0; hit < 5; hit += 1)
        expect(await allowed([rule], T0 + 59 * SECOND)).toBe(true);
      // A fixed window would restart at T0 + 60 s and allow five more here.
      const result = await store.consume([rule], T0 + 61 * SECOND);
      expect(result.rejected).toEqual({ layer: 'phone:b', limit: 5, retryAfterMs: 58 * SECOND });
    });

    it('reports remaining and the time until the oldest hit leaves', async () => {
      const rule = window('ip:a', 3, MINUTE, 'ip');
      expect((await store.consume([rule], T0)).states).toEqual([
        { layer: 'ip', limit: 3, remaining: 2, resetMs: MINUTE },
      ]);
      expect((await store.consume([rule], T0 + 20 * SECOND)).states).toEqual([
        { layer: 'ip', limit: 3, remaining: 1, resetMs: 40 * SECOND },
      ]);
    });

    it('keeps no interval of windowMs above the limit, for any arrival pattern', async () => {
      const rule = window('phone:random', 4, 10 * SECOND);
      const accepted: number[] = [];
      let now = T0;
      let seed = 7;
      for (let call = 0; call < 2_000; call += 1) {
        seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31;
        now += seed % 4_000;
        const result = await store.consume([rule], now);
        const inWindow = accepted.filter((hit) => hit > now - rule.windowMs);
        // Refused exactly when `limit` accepted hits are still in the window.
        expect(result.allowed).toBe(inWindow.length < rule.limit);
        if (result.allowed) accepted.push(now);
        else expect(result.rejected?.retryAfterMs).toBe(inWindow[0] + rule.windowMs - now);
      }
      expect(accepted.length).toBeGreaterThan(500);
    });
  });

  describe('all or nothing', () => {
    it('consumes nothing from any rule when one refuses', async () => {
      const ip = window('ip:flood', 2, MINUTE, 'ip');
      const phone = window('phone:victim', 5, MINUTE, 'phone');
      for (let hit = 0; hit < 50; hit += 1) await store.consume([ip, phone], T0 + hit);

      const fromElsewhere = await store.consume([window('ip:other', 2, MINUTE), phone], T0 + 100);
      expect(fromElsewhere.allowed).toBe(true);
      // Two hits from the flood and this one: the 48 refused calls used none of the phone's quota.
      expect(fromElsewhere.states[1]).toEqual({
        layer: 'phone',
        limit: 5,
        remaining: 2,
        resetMs: MINUTE - 100,
      });
    });

    it('reports the first refusing rule in the given order, with every state', async () => {
      const ip = window('ip:x', 1, MINUTE, 'ip');
      const phone = window('phone:x', 1, 2 * MINUTE, 'phone');
      await store.consume([ip, phone], T0);
      const result = await store.consume([phone, ip], T0 + SECOND);
      expect(result).toEqual({
        allowed: false,
        rejected: { layer: 'phone', limit: 1, retryAfterMs: 2 * MINUTE - SECOND },
        states: [
          { layer: 'phone', limit: 1, remaining: 0, resetMs: 2 * MINUTE - SECOND },
          { layer: 'ip', limit: 1, remaining: 0, resetMs: MINUTE - SECOND },
        ],
      });
    });

    it('allows an empty rule list', async () => {
      expect(await store.consume([], T0)).toEqual({ allowed: true, states: [] });
    });
  });

  describe('distinct members', () => {
    const key = 'ip-phones:ip-a';

    it('allows a known member again and refuses a new one beyond the limit', async () => {
      expect(await allowed([distinct(key, 'phone-1', 2, 10 * MINUTE)], T0)).toBe(true);
      expect(await allowed([distinct(key, 'phone-2', 2, 10 * MINUTE)], T0 + MINUTE)).toBe(true);
      for (let again = 0; again < 5; again += 1) {
        expect(await allowed([distinct(key, 'phone-1', 2, 10 * MINUTE)], T0 + 2 * MINUTE)).toBe(
          true,
        );
      }
      const third = await store.consume(
        [distinct(key, 'phone-3', 2, 10 * MINUTE)],
        T0 + 3 * MINUTE,
      );
      // phone-1 was refreshed at minute 2, so phone-2 (minute 1) is the oldest sighting.
      expect(third).toEqual({
        allowed: false,
        rejected: { layer: 'ip-phones', limit: 2, retryAfterMs: 8 * MINUTE },
        states: [{ layer: 'ip-phones', limit: 2, remaining: 0, resetMs: 8 * MINUTE }],
      });
      expect(await allowed([distinct(key, 'phone-3', 2, 10 * MINUTE)], T0 + 11 * MINUTE)).toBe(
        true,
      );
      // phone-1, last seen at minute 2, still counts; phone-2 has left.
      expect(await allowed([distinct(key, 'phone-2', 2, 10 * MINUTE)], T0 + 11 * MINUTE)).toBe(
        false,
      );
    });
  });

  describe('resend cooldown', () => {
    it('grows 30 s → 60 s → 300 s, stays at the last step, and resets after quiet', async () => {
      let now = T0;
      expect((await store.consume([resendCooldown], now)).states).toEqual([
        { layer: 'cooldown', limit: 1, remaining: 0, resetMs: 30 * SECOND },
      ]);

      for (const delay of [30, 60, 300, 300].map((seconds) => seconds * SECOND)) {
        const early = await store.consume([resendCooldown], now + delay - 1);
        expect(early.rejected).toEqual({ layer: 'cooldown', limit: 1, retryAfterMs: 1 });
        now += delay;
        expect(await allowed([resendCooldown], now)).toBe(true);
      }

      now += 60 * MINUTE;
      const afterQuiet = await store.consume([resendCooldown], now);
      expect(afterQuiet.allowed).toBe(true);
      expect(afterQuiet.states[0].resetMs).toBe(30 * SECOND);
    });

    it('counts only accepted sends toward the next step', async () => {
      await store.consume([resendCooldown], T0);
      for (let retry = 1; retry <= 10; retry += 1) {
        expect(await allowed([resendCooldown], T0 + retry * SECOND)).toBe(false);
      }
      expect(await allowed([resendCooldown], T0 + 30 * SECOND)).toBe(true);
      const next = await store.consume([resendCooldown], T0 + 31 * SECOND);
      expect(next.rejected?.retryAfterMs).toBe(59 * SECOND);
    });

    it('reports an idle cooldown as available', async () => {
      const blocker = window('global', 1, MINUTE);
      await store.consume([blocker], T0);
      const result = await store.consume([blocker, resendCooldown], T0 + 1);
      expect(result.states[1]).toEqual({ layer: 'cooldown', limit: 1, remaining: 1, resetMs: 0 });
    });
  });

  describe('reset', () => {
    it('forgets the given keys and only those', async () => {
      const wrongCodes = window('verify:phone:a', 2, MINUTE);
      const ip = window('verify:ip:a', 10, MINUTE);
      await store.consume([wrongCodes, ip], T0);
      await store.consume([wrongCodes, ip], T0 + 1);
      expect(await allowed([wrongCodes], T0 + 2)).toBe(false);

      await store.reset(['verify:phone:a', 'never-used']);
      const after = await store.consume([wrongCodes, ip], T0 + 3);
      expect(after.states.map((state) => state.remaining)).toEqual([1, 7]);
    });
  });

  describe('memory bounds', () => {
    it('prunes hits that left the window and drops keys with nothing left', async () => {
      store = new MemoryRateLimitStore({ sweepIntervalMs: MINUTE });
      for (let phone = 0; phone < 100; phone += 1) {
        await store.consume([window(`phone:${phone}`, 5, 10 * SECOND)], T0 + phone);
      }
      await store.consume([resendCooldown], T0);
      expect(store.size).toBe(101);

      // The next call after the sweep interval sweeps every key whose hits have all left.
      await store.consume([window('phone:late', 5, 10 * SECOND)], T0 + MINUTE);
      expect(store.size).toBe(2);
      expect(store.removeExpired(T0 + 2 * MINUTE)).toBe(1);
      expect(store.size).toBe(1);
    });

    it('holds at most `limit` hits per window key however many calls come', async () => {
      const rule = window('global', 3, MINUTE);
      for (let call = 0; call < 1_000; call += 1) await store.consume([rule], T0 + call * SECOND);
      expect(store.size).toBe(1);
      const state = (await store.consume([rule], T0 + 1_000 * SECOND)).states[0];
      expect(state.remaining).toBe(0);
    });

    it('refuses new keys at its cap, keeps serving known keys, and recovers as keys expire', async () => {
      store = new MemoryRateLimitStore({ maxKeys: 3 });
      for (let phone = 0; phone < 3; phone += 1) {
        await store.consume([window(`phone:${phone}`, 5, MINUTE)], T0);
      }
      await expect(store.consume([window('phone:new', 5, MINUTE)], T0 + 1)).rejects.toBeInstanceOf(
        RateLimitStoreFullError,
      );
      expect(await allowed([window('phone:0', 5, MINUTE)], T0 + 2)).toBe(true);
      expect(store.size).toBe(3);

      expect(await allowed([window('phone:new', 5, MINUTE)], T0 + 2 * MINUTE)).toBe(true);
      expect(store.size).toBe(1);
    });

    it('keeps nothing for refused calls', async () => {
      const ip = window('ip:flood', 1, MINUTE);
      await store.consume([ip], T0);
      for (let phone = 0; phone < 100; phone += 1) {
        await store.consume([ip, window(`phone:${phone}`, 5, MINUTE)], T0 + 1);
      }
      expect(store.size).toBe(1);
    });
  });

  describe('rule validation', () => {
    it.each<[string, LimitRule[]]>([
      ['a zero limit', [window('phone', 0, MINUTE)]],
      ['a fractional window', [window('phone', 1, 1.5)]],
      ['the same key twice', [window('phone', 1, MINUTE), window('phone', 2, MINUTE)]],
      ['an empty member', [distinct('ip', '', 1, MINUTE)]],
      ['a layer too long for storage', [window('phone', 1, MINUTE, 'x'.repeat(33))]],
      ['a cooldown without steps', [{ ...resendCooldown, stepsMs: [] }]],
      ['a reset shorter than a step', [{ ...resendCooldown, resetAfterMs: 60 * SECOND }]],
    ])('refuses %s', async (_, rules) => {
      await expect(store.consume(rules, T0)).rejects.toBeInstanceOf(InvalidLimitRuleError);
    });
  });
});
