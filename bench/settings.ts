/**
 * What a run measures and for how long: the knobs of docs/BENCHMARKS.md, some of them set by
 * BENCH_* variables.
 */
import { RELAXED_LIMITS } from '../test/support/relaxed-limits';

export const SECONDS = Number(process.env.BENCH_SECONDS ?? 10);
/**
 * `BENCH_ONLY=3,4`: a trial run of the ceiling and the listed scenarios (ids as in the table,
 * `4` for 4a and 4b; `profile`, `profile-429`, `profile-verify` and `profile-verify-right` for
 * the profiles), printed and not written to bench/results or docs/BENCHMARKS.md. For measuring a
 * change head to head.
 */
export const ONLY = process.env.BENCH_ONLY?.split(',')
  .map((id) => id.trim())
  .filter(Boolean);
export const wanted = (id: string): boolean => !ONLY || id === '1' || ONLY.includes(id);
export const WARMUP_SECONDS = 3;
export const CONNECTIONS = 50;
/** Scenario 1, the ceiling: a route that does no work of ours (no database, no Redis). */
export const CEILING_LOAD = { path: '/health', connections: CONNECTIONS } as const;
/**
 * A logical database of its own: three million seeded keys in database 0 would slow every other
 * user's SCAN-based cleanup (the e2e tests') on a shared Redis. Keys also carry a run prefix.
 */
export const REDIS_URL = process.env.BENCH_REDIS_URL ?? 'redis://127.0.0.1:6379/15';
export const REDIS_PREFIX_ROOT = 'bench:';
export const SCALE_PHONES = Number(process.env.BENCH_SCALE_PHONES ?? 1_000_000);
export const SCALE_ROWS = Number(process.env.BENCH_SCALE_ROWS ?? 5_000_000);
/** Prepared verifications: wrong codes cycle over these (9 wrong codes each), right codes use each once. */
export const WRONG_CODE_PHONES = 5_000;
export const RIGHT_CODE_PHONES = 8_000;
/** The right-code profile's load runs for WARMUP_SECONDS + SECONDS, each verification once. */
export const RIGHT_CODE_PROFILE_PHONES = 40_000;
export const LOGIN_USERS = 4_000;
/**
 * The machine may be shared (other users' test runs): each scenario first waits for it to be
 * quiet, up to this much waiting over the whole run, and the load that was left is reported.
 */
export const QUIET_WAIT_BUDGET_MS = 60_000;
/** PostgreSQL backends flush their pg_stat counters within 10 s of going idle (PGSTAT_IDLE_INTERVAL). */
export const STATS_SETTLE_MS = 11_000;

/**
 * Number ranges per use (see ethiopianMobile), so no two scenarios ever touch the same phone's
 * limits or verifications.
 */
export const RANGE = {
  http0: 0,
  accepted: 1,
  wrongCodes: 2,
  rightCodes: 3,
  users: 4,
  slowTwilio: 5,
  scale: 6,
  attackers: 7,
  seededPhones: 8,
  profile: 9,
} as const;

/** Layers keyed on the phone stay at their defaults; see docs/BENCHMARKS.md "Limits". */
export const PHONE_LAYERS = new Set([
  'SMS_RATE_LIMIT_MAX_ATTEMPTS',
  'SMS_PURPOSE_LIMITS',
  'SMS_RESEND_COOLDOWNS',
]);
export const RAISED_LIMITS = Object.fromEntries(
  Object.entries(RELAXED_LIMITS).filter(([name]) => !PHONE_LAYERS.has(name)),
);
