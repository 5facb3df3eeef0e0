import { ConsumeResult, LimitRule, RateLimitStore, assertValidRules } from './rate-limit-store';
import { CounterState, counterExpiresAt, emptyCounter, evaluateRules } from './rule-evaluation';

export interface MemoryRateLimitStoreOptions {
  /** Live keys held at most; see RateLimitStoreFullError. */
  maxKeys?: number;
  /** How often (in the clock's ms) a consume() also sweeps every expired key. */
  sweepIntervalMs?: number;
}

/**
 * Thrown when a hit needs a new key and the store already holds `maxKeys` live keys. Refusing
 * (fail closed) rather than evicting live keys: evicting would let whoever creates many keys wipe
 * other keys' counters. Callers treat it like an unreachable Redis.
 */
export class RateLimitStoreFullError extends Error {
  override readonly name = 'RateLimitStoreFullError';

  constructor(readonly maxKeys: number) {
    super(`The in-memory rate-limit store holds its maximum of ${maxKeys} live keys`);
  }
}

interface Entry {
  counter: CounterState;
  expiresAt: number;
}

/**
 * Rate limits for one process (no Redis configured): limits multiply by the number of instances
 * (docs/SECURITY.md rule 8). consume() never awaits, so each call is atomic within the process.
 * Memory stays bounded: logs are pruned on every hit, expired keys are dropped when read and by
 * a sweep at most every `sweepIntervalMs`, and at `maxKeys` live keys new keys are refused.
 */
export class MemoryRateLimitStore extends RateLimitStore {
  readonly kind = 'memory';
  private readonly entries = new Map<string, Entry>();
  private readonly maxKeys: number;
  private readonly sweepIntervalMs: number;
  private lastSweepMs: number | undefined;

  constructor(options: MemoryRateLimitStoreOptions = {}) {
    super();
    this.maxKeys = options.maxKeys ?? 100_000;
    this.sweepIntervalMs = options.sweepIntervalMs ?? 60_000;
  }

  /** Keys held, expired ones not yet swept included. */
  get size(): number {
    return this.entries.size;
  }

  async consume(rules: LimitRule[], nowMs: number): Promise<ConsumeResult> {
    assertValidRules(rules, nowMs);
    this.sweepIfDue(nowMs);
    const current = rules.map((rule) => this.liveCounter(rule.key, nowMs));
    const { result, counters } = evaluateRules(rules, current, nowMs);
    if (!result.allowed) return result;

    const newKeys = rules.filter((rule) => !this.entries.has(rule.key)).length;
    if (newKeys > 0 && this.entries.size + newKeys > this.maxKeys) {
      this.removeExpired(nowMs);
      if (this.entries.size + newKeys > this.maxKeys)
        throw new RateLimitStoreFullError(this.maxKeys);
    }
    rules.forEach((rule, index) => {
      const counter = counters[index];
      this.entries.set(rule.key, { counter, expiresAt: counterExpiresAt(rule, counter) });
    });
    return result;
  }

  async reset(keys: string[]): Promise<void> {
    for (const key of keys) this.entries.delete(key);
  }

  /** Drops every key whose counter no longer holds anything that counts; returns how many. */
  removeExpired(nowMs: number): number {
    this.lastSweepMs = nowMs;
    let removed = 0;
    for (const [key, entry] of this.entries) {
      if (entry.expiresAt <= nowMs) {
        this.entries.delete(key);
        removed += 1;
      }
    }
    return removed;
  }

  private sweepIfDue(nowMs: number): void {
    if (this.lastSweepMs === undefined) this.lastSweepMs = nowMs;
    else if (nowMs - this.lastSweepMs >= this.sweepIntervalMs) this.removeExpired(nowMs);
  }

  private liveCounter(key: string, nowMs: number): CounterState {
    const entry = this.entries.get(key);
    if (!entry) return emptyCounter();
    if (entry.expiresAt <= nowMs) {
      this.entries.delete(key);
      return emptyCounter();
    }
    return entry.counter;
  }
}
