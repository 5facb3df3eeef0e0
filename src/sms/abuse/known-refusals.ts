import { LimitRule } from '../../rate-limit/store/rate-limit-store';

interface Refusal {
  untilMs: number;
  layer: string;
  limit: number;
}

/** A refusal answered from memory: the layer, its limit and the ms until it ends. */
export interface KnownRefusal {
  layer: string;
  limit: number;
  retryAfterMs: number;
}

/**
 * Send refusals this instance already received from the store, kept until they end, so a client
 * hammering a refused number (or a refused IP, range, country…) is answered without a store round
 * trip: the 429 path an SMS-bombing attacker keeps hitting.
 *
 * Safe with any number of instances: counts in a sliding window or a cooldown only grow until
 * their refusal ends, so whatever another instance did meanwhile, the store would refuse too. It
 * can only refuse what the store would refuse, never allow more. Not for rules whose counters are
 * cleared early (the wrong-code and wrong-password counts), nor for distinct-member rules, whose
 * answer depends on the member.
 */
export class KnownRefusals {
  private readonly refusals = new Map<string, Refusal>();

  constructor(private readonly maxEntries = 10_000) {}

  /** The first of `rules` known to refuse at `nowMs`, if any. */
  find(rules: LimitRule[], nowMs: number): KnownRefusal | undefined {
    if (this.refusals.size === 0) return undefined;
    for (const rule of rules) {
      const id = identity(rule);
      const refusal = id === undefined ? undefined : this.refusals.get(id);
      if (!refusal) continue;
      if (refusal.untilMs <= nowMs) {
        this.refusals.delete(id!);
        continue;
      }
      return { layer: refusal.layer, limit: refusal.limit, retryAfterMs: refusal.untilMs - nowMs };
    }
    return undefined;
  }

  /** Notes the store's refusal of `rules` by the rule of `layer`, for `retryAfterMs` from now. */
  remember(rules: LimitRule[], refused: KnownRefusal, nowMs: number): void {
    const rule = rules.find((candidate) => candidate.layer === refused.layer);
    const id = rule && identity(rule);
    if (id === undefined || refused.retryAfterMs <= 0) return;
    if (this.refusals.size >= this.maxEntries) this.forgetEnded(nowMs);
    if (this.refusals.size >= this.maxEntries) {
      this.refusals.delete(this.refusals.keys().next().value!);
    }
    this.refusals.set(id, {
      untilMs: nowMs + refused.retryAfterMs,
      layer: refused.layer,
      limit: refused.limit,
    });
  }

  private forgetEnded(nowMs: number): void {
    for (const [id, refusal] of this.refusals) {
      if (refusal.untilMs <= nowMs) this.refusals.delete(id);
    }
  }
}

/** A rule's counter and its parameters: the same key under other parameters is another rule. */
function identity(rule: LimitRule): string | undefined {
  switch (rule.type) {
    case 'window':
      return `window ${rule.key} ${rule.limit} ${rule.windowMs}`;
    case 'cooldown':
      return `cooldown ${rule.key} ${rule.stepsMs.join(',')} ${rule.resetAfterMs}`;
    case 'distinct':
      return undefined;
  }
}
