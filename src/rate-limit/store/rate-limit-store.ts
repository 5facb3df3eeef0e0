/**
 * Where rate-limit counters live. Three implementations give the same answers: Redis (shared by
 * every instance), PostgreSQL (shared, for deployments without Redis) and memory (one process
 * only: limits multiply by the number of instances, docs/SECURITY.md rule 8).
 *
 * A key names one counter and belongs to one rule type: the same key used as a window in one call
 * and as a cooldown in another is a caller bug (Redis answers WRONGTYPE, the others mix states).
 */

/** Sliding-window counter: at most `limit` hits in any interval of `windowMs`. */
export interface WindowRule {
  type: 'window';
  /** e.g. 'phone', 'global', 'ip', 'country', 'prefix', 'purpose', 'verify-phone'. */
  layer: string;
  /** An already-hashed identifier, e.g. 'phone:<hmac>'; never a raw phone number or IP. */
  key: string;
  limit: number;
  windowMs: number;
}

/** At most `limit` distinct members per sliding window (e.g. distinct phones per IP). */
export interface DistinctRule {
  type: 'distinct';
  layer: string;
  key: string;
  /** Seen again within the window: always allowed by this rule, and its timestamp refreshed. */
  member: string;
  limit: number;
  windowMs: number;
}

/**
 * Growing resend delay: after the n-th accepted hit, the next is refused for
 * `stepsMs[min(n - 1, stepsMs.length - 1)]`. The sequence is forgotten after `resetAfterMs` without
 * an accepted hit, which must be at least the longest step.
 */
export interface CooldownRule {
  type: 'cooldown';
  layer: string;
  key: string;
  stepsMs: number[];
  resetAfterMs: number;
}

export type LimitRule = WindowRule | DistinctRule | CooldownRule;

/**
 * One rule after the decision. `resetMs`: ms until one more slot frees (the oldest counted hit
 * leaves the window, or the cooldown ends); 0 when nothing is counted. A cooldown reports limit 1
 * and remaining 0 or 1.
 */
export interface RuleState {
  layer: string;
  limit: number;
  remaining: number;
  resetMs: number;
}

export interface ConsumeResult {
  allowed: boolean;
  /** The first rule, in the order given, that refused. */
  rejected?: { layer: string; limit: number; retryAfterMs: number };
  /** One per rule, in the order given, after the decision. */
  states: RuleState[];
}

export abstract class RateLimitStore {
  abstract readonly kind: 'redis' | 'postgres' | 'memory';
  /** Checks every rule; if all allow, records one hit in each — all or nothing, atomically. */
  abstract consume(rules: LimitRule[], nowMs: number): Promise<ConsumeResult>;
  /** Forgets keys entirely (e.g. success clears a wrong-code counter). */
  abstract reset(keys: string[]): Promise<void>;
}

/** A rule no store can apply: a bug in the policy table, not a client error. */
export class InvalidLimitRuleError extends Error {
  override readonly name = 'InvalidLimitRuleError';
}

/**
 * Layers are stored in a varchar(32) by the PostgreSQL store; every store checks the same rules
 * so that a policy accepted by one is accepted by all.
 */
export const MAX_LAYER_LENGTH = 32;

export function assertValidRules(rules: LimitRule[], nowMs: number): void {
  if (!Number.isSafeInteger(nowMs) || nowMs < 0) {
    throw new InvalidLimitRuleError(`nowMs must be a non-negative integer, got ${nowMs}`);
  }
  const keys = new Set<string>();
  for (const rule of rules) {
    const where = `rate-limit rule ${rule.layer}/${rule.key}`;
    if (!rule.key) throw new InvalidLimitRuleError(`${where}: empty key`);
    if (keys.has(rule.key)) throw new InvalidLimitRuleError(`${where}: key used twice in one call`);
    keys.add(rule.key);
    if (!rule.layer || rule.layer.length > MAX_LAYER_LENGTH) {
      throw new InvalidLimitRuleError(
        `${where}: layer must have 1 to ${MAX_LAYER_LENGTH} characters`,
      );
    }
    if (rule.type === 'cooldown') {
      if (rule.stepsMs.length === 0 || !rule.stepsMs.every(isNonNegativeInteger)) {
        throw new InvalidLimitRuleError(`${where}: stepsMs must be non-negative integers`);
      }
      if (!isPositiveInteger(rule.resetAfterMs) || rule.resetAfterMs < Math.max(...rule.stepsMs)) {
        throw new InvalidLimitRuleError(`${where}: resetAfterMs must cover the longest step`);
      }
      continue;
    }
    if (!isPositiveInteger(rule.limit) || !isPositiveInteger(rule.windowMs)) {
      throw new InvalidLimitRuleError(`${where}: limit and windowMs must be positive integers`);
    }
    if (rule.type === 'distinct' && !rule.member) {
      throw new InvalidLimitRuleError(`${where}: empty member`);
    }
  }
}

function isPositiveInteger(value: number): boolean {
  return Number.isSafeInteger(value) && value > 0;
}

function isNonNegativeInteger(value: number): boolean {
  return Number.isSafeInteger(value) && value >= 0;
}
