import { createHash, randomBytes } from 'node:crypto';
import type { Cluster, Redis } from 'ioredis';
import { CONSUME_SCRIPT } from './redis-consume.script';
import {
  ConsumeResult,
  LimitRule,
  RateLimitStore,
  assertValidRules,
  type RuleState,
} from './rate-limit-store';

const CONSUME_SCRIPT_SHA = createHash('sha1').update(CONSUME_SCRIPT).digest('hex');

/**
 * Rate limits shared by every instance through Redis: each consume() is one EVALSHA of
 * redis-consume.script.ts. Errors (Redis down, timeouts) propagate: the caller fails closed.
 */
export class RedisRateLimitStore extends RateLimitStore {
  readonly kind = 'redis';

  /**
   * Window hits are sorted-set members and must be unique across instances: this process's
   * random id and a counter, instead of random bytes per call.
   */
  private readonly memberPrefix = randomBytes(8).toString('hex');
  private hits = 0;

  constructor(
    private readonly client: Redis | Cluster,
    private readonly keyPrefix: string,
  ) {
    super();
  }

  async consume(rules: LimitRule[], nowMs: number): Promise<ConsumeResult> {
    assertValidRules(rules, nowMs);
    if (rules.length === 0) return { allowed: true, states: [] };
    this.hits = (this.hits + 1) % Number.MAX_SAFE_INTEGER;
    const hitMember = `${nowMs}-${this.memberPrefix}-${this.hits.toString(36)}`;
    const reply = (await this.runConsumeScript(
      rules.map((rule) => this.redisKey(rule.key)),
      [String(nowMs), hitMember, ...rules.flatMap(scriptArguments)],
    )) as number[];

    const [rejectedRule, retryAfterMs] = reply;
    const states = rules.map((rule, index): RuleState => ({
      layer: rule.layer,
      limit: rule.type === 'cooldown' ? 1 : rule.limit,
      remaining: reply[2 + index * 2],
      resetMs: reply[3 + index * 2],
    }));
    if (rejectedRule === 0) return { allowed: true, states };
    const refusing = states[rejectedRule - 1];
    return {
      allowed: false,
      rejected: { layer: refusing.layer, limit: refusing.limit, retryAfterMs },
      states,
    };
  }

  async reset(keys: string[]): Promise<void> {
    if (keys.length === 0) return;
    // One DEL for several keys is a multi-key command too: on a cluster it works only because
    // redisKey() puts them all in the {rl} slot.
    await this.client.del(...keys.map((key) => this.redisKey(key)));
  }

  /**
   * Every rate-limit key carries the same hash tag, so one script may touch all the keys of a
   * request on a Redis Cluster (keys of one script must share a slot). The cost: all rate-limit
   * traffic lands on one slot, hence one primary; spreading keys over slots would give up the
   * all-or-nothing decision across layers. A `{` in the prefix would come first and change the
   * tag (`{}` would even disable it), so REDIS_KEY_PREFIX may hold no braces on a cluster.
   */
  private redisKey(key: string): string {
    return `${this.keyPrefix}{rl}:${key}`;
  }

  private async runConsumeScript(keys: string[], args: string[]): Promise<unknown> {
    try {
      return await this.client.evalsha(CONSUME_SCRIPT_SHA, keys.length, ...keys, ...args);
    } catch (error) {
      // The script cache is empty after a Redis restart or failover: EVAL loads it again.
      if (!(error instanceof Error) || !error.message.startsWith('NOSCRIPT')) throw error;
      return this.client.eval(CONSUME_SCRIPT, keys.length, ...keys, ...args);
    }
  }
}

function scriptArguments(rule: LimitRule): string[] {
  switch (rule.type) {
    case 'window':
      return ['window', String(rule.limit), String(rule.windowMs), ''];
    case 'distinct':
      return ['distinct', String(rule.limit), String(rule.windowMs), rule.member];
    case 'cooldown':
      return ['cooldown', String(rule.resetAfterMs), rule.stepsMs.join(','), ''];
  }
}
