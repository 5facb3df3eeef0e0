import { ConsumeResult, LimitRule, RuleState } from './rate-limit-store';

/**
 * The decision shared by the memory and PostgreSQL stores; the Redis store runs the same steps in
 * Lua (redis-consume.script.ts), and the contract e2e suite holds all three to the same answers.
 *
 * A window or distinct counter is a sliding log: `hits` in ascending order, a hit at t counting
 * while now < t + windowMs; a distinct counter keeps the member of each hit in `members` (same
 * index) and one hit per member, its last sighting. A cooldown keeps the number of accepted hits
 * in its sequence in `step` and the last accepted hit as `hits[0]`.
 */
export interface CounterState {
  hits: number[];
  members: string[];
  step: number;
}

export function emptyCounter(): CounterState {
  return { hits: [], members: [], step: 0 };
}

export interface Evaluation {
  result: ConsumeResult;
  /** Per rule: the counter pruned of what no longer counts, plus this hit when allowed. */
  counters: CounterState[];
}

export function evaluateRules(
  rules: LimitRule[],
  current: CounterState[],
  nowMs: number,
): Evaluation {
  const pruned = rules.map((rule, index) => prune(rule, current[index], nowMs));
  let rejected: ConsumeResult['rejected'];
  for (const [index, rule] of rules.entries()) {
    const retryAfterMs = refusal(rule, pruned[index], nowMs);
    if (retryAfterMs > 0) {
      rejected = { layer: rule.layer, limit: ruleLimit(rule), retryAfterMs };
      break;
    }
  }
  const counters = rejected
    ? pruned
    : rules.map((rule, index) => record(rule, pruned[index], nowMs));
  return {
    result: {
      allowed: rejected === undefined,
      ...(rejected ? { rejected } : {}),
      states: rules.map((rule, index) => describe(rule, counters[index], nowMs)),
    },
    counters,
  };
}

/** When the counter holds nothing that still matters; 0 for an empty counter. */
export function counterExpiresAt(rule: LimitRule, counter: CounterState): number {
  if (counter.hits.length === 0) return 0;
  const newest = counter.hits[counter.hits.length - 1];
  return newest + (rule.type === 'cooldown' ? rule.resetAfterMs : rule.windowMs);
}

function ruleLimit(rule: LimitRule): number {
  return rule.type === 'cooldown' ? 1 : rule.limit;
}

function prune(rule: LimitRule, counter: CounterState, nowMs: number): CounterState {
  if (rule.type === 'cooldown') {
    const quiet = counter.step > 0 && nowMs - counter.hits[0] >= rule.resetAfterMs;
    return quiet || counter.step === 0 ? emptyCounter() : counter;
  }
  const firstCounted = counter.hits.findIndex((hit) => hit > nowMs - rule.windowMs);
  if (firstCounted === 0) return counter;
  if (firstCounted === -1) return emptyCounter();
  return {
    hits: counter.hits.slice(firstCounted),
    members: counter.members.slice(firstCounted),
    step: 0,
  };
}

/** 0 when the rule allows one more hit now, else the ms until it will. */
function refusal(rule: LimitRule, counter: CounterState, nowMs: number): number {
  if (rule.type === 'cooldown') return Math.max(0, cooldownEnd(rule, counter) - nowMs);
  if (rule.type === 'distinct' && counter.members.includes(rule.member)) return 0;
  const count = counter.hits.length;
  if (count < rule.limit) return 0;
  return counter.hits[count - rule.limit] + rule.windowMs - nowMs;
}

function record(rule: LimitRule, counter: CounterState, nowMs: number): CounterState {
  if (rule.type === 'cooldown') return { hits: [nowMs], members: [], step: counter.step + 1 };
  const hits = [...counter.hits];
  const members = [...counter.members];
  let at = nowMs;
  if (rule.type === 'distinct') {
    const seen = members.indexOf(rule.member);
    if (seen !== -1) {
      // A sighting from an instance whose clock runs ahead is kept rather than moved back.
      at = Math.max(at, hits[seen]);
      hits.splice(seen, 1);
      members.splice(seen, 1);
    }
  }
  const position = insertionPoint(hits, at);
  hits.splice(position, 0, at);
  if (rule.type === 'distinct') members.splice(position, 0, rule.member);
  return { hits, members, step: 0 };
}

function describe(rule: LimitRule, counter: CounterState, nowMs: number): RuleState {
  if (rule.type === 'cooldown') {
    const resetMs = Math.max(0, cooldownEnd(rule, counter) - nowMs);
    return { layer: rule.layer, limit: 1, remaining: resetMs > 0 ? 0 : 1, resetMs };
  }
  const count = counter.hits.length;
  const resetMs =
    count === 0 ? 0 : counter.hits[Math.max(0, count - rule.limit)] + rule.windowMs - nowMs;
  return {
    layer: rule.layer,
    limit: rule.limit,
    remaining: Math.max(0, rule.limit - count),
    resetMs,
  };
}

/** When the delay after the last accepted hit ends; 0 before the first hit of a sequence. */
function cooldownEnd(rule: Extract<LimitRule, { type: 'cooldown' }>, counter: CounterState) {
  if (counter.step === 0) return 0;
  const delay = rule.stepsMs[Math.min(counter.step - 1, rule.stepsMs.length - 1)];
  return counter.hits[0] + delay;
}

/** After every hit at or before `at`, so the log stays sorted even with skewed clocks. */
function insertionPoint(hits: number[], at: number): number {
  let low = 0;
  let high = hits.length;
  while (low < high) {
    const middle = (low + high) >>> 1;
    if (hits[middle] <= at) low = middle + 1;
    else high = middle;
  }
  return low;
}
