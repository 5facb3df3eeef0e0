import { createHash } from 'node:crypto';
import { Sql, SqlTransaction } from '../../database/sql';
import { ConsumeResult, LimitRule, RateLimitStore, assertValidRules } from './rate-limit-store';
import { CounterState, counterExpiresAt, evaluateRules } from './rule-evaluation';

/** Created empty by the first hit of a key, in key order so that concurrent inserts never cross. */
const CREATE_MISSING_ROWS = `
  INSERT INTO "sms_rate_limits" ("identifier", "limit_type", "hits", "members", "expires_at")
  SELECT entry.identifier, entry.layer, '{}', '{}', $3
  FROM unnest($1::varchar[], $2::varchar[]) WITH ORDINALITY AS entry (identifier, layer, position)
  ORDER BY entry.position
  ON CONFLICT ("identifier") DO NOTHING`;

/** Every consume() locks its rows in this one order, so two of them cannot deadlock. */
const LOCK_ROWS = `
  SELECT "id", "identifier", "count", "hits", "members"
  FROM "sms_rate_limits"
  WHERE "identifier" = ANY($1::varchar[])
  ORDER BY "identifier" COLLATE "C"
  FOR UPDATE`;

const WRITE_ROWS = `
  UPDATE "sms_rate_limits" AS record
  SET "limit_type" = next.layer,
      "count" = next.count,
      "window_start" = next.window_start,
      "hits" = next.hits,
      "members" = next.members,
      "expires_at" = next.expires_at
  FROM jsonb_to_recordset($1::jsonb) AS next (
    id uuid, layer varchar, count integer, window_start timestamptz,
    hits bigint[], members text[], expires_at timestamptz
  )
  WHERE record."id" = next.id`;

const DELETE_KEYS = `
  DELETE FROM "sms_rate_limits"
  WHERE "id" IN (
    SELECT "id" FROM "sms_rate_limits"
    WHERE "identifier" = ANY($1::varchar[])
    ORDER BY "identifier" COLLATE "C"
    FOR UPDATE
  )`;

/** SKIP LOCKED: a sweep never waits for, nor deadlocks with, a consume() holding its rows. */
const DELETE_EXPIRED = `
  WITH expired AS (
    SELECT "id" FROM "sms_rate_limits"
    WHERE "expires_at" <= $1
    ORDER BY "expires_at"
    LIMIT $2
    FOR UPDATE SKIP LOCKED
  ), removed AS (
    DELETE FROM "sms_rate_limits" WHERE "id" IN (SELECT "id" FROM expired) RETURNING 1
  )
  SELECT count(*)::integer AS "removed" FROM removed`;

interface LockedRow {
  id: string;
  identifier: string;
  count: number;
  hits: (string | number)[];
  members: string[];
}

/** Lock conflicts PostgreSQL resolves by aborting one transaction; the loser starts over. */
const RETRYABLE_CODES = new Set(['40P01', '40001']);
const MAX_ATTEMPTS = 5;

/** A row was deleted (reset or sweep) between its insert and its lock. */
class RowVanishedError extends Error {}

/** A refused consume(): its transaction rolls back, so a refusal leaves no trace. */
class Refusal {
  constructor(readonly result: ConsumeResult) {}
}

/**
 * Rate limits shared by every instance through PostgreSQL, for deployments without Redis. One
 * transaction per consume(): create missing rows, lock all rows of the call in key order, decide
 * with the same code as the memory store, write and commit, or roll back when refused (so a
 * refused call leaves no trace). Exact across instances, at the cost of serializing the calls
 * that share a key (a global limit makes every call share one row).
 */
export class PostgresRateLimitStore extends RateLimitStore {
  readonly kind = 'postgres';

  constructor(private readonly sql: Sql) {
    super();
  }

  async consume(rules: LimitRule[], nowMs: number): Promise<ConsumeResult> {
    assertValidRules(rules, nowMs);
    if (rules.length === 0) return { allowed: true, states: [] };
    for (let attempt = 1; ; attempt += 1) {
      try {
        return await this.consumeOnce(rules, nowMs);
      } catch (error) {
        if (attempt >= MAX_ATTEMPTS || !isRetryable(error)) throw error;
      }
    }
  }

  async reset(keys: string[]): Promise<void> {
    if (keys.length === 0) return;
    await this.sql.rows(DELETE_KEYS, [keys.map(storageIdentifier)]);
  }

  /** Deletes up to `batchSize` rows that no longer count; returns how many. Run it periodically. */
  async removeExpired(nowMs: number, batchSize = 10_000): Promise<number> {
    const [{ removed }] = await this.sql.rows<{ removed: number }>(DELETE_EXPIRED, [
      new Date(nowMs),
      batchSize,
    ]);
    return removed;
  }

  private async consumeOnce(rules: LimitRule[], nowMs: number): Promise<ConsumeResult> {
    const identifiers = rules.map((rule) => storageIdentifier(rule.key));
    const inKeyOrder = rules
      .map((_, index) => index)
      .sort((a, b) => compareCodeUnits(identifiers[a], identifiers[b]));

    try {
      return await this.sql.transaction(async (transaction) => {
        await transaction.rows(CREATE_MISSING_ROWS, [
          inKeyOrder.map((index) => identifiers[index]),
          inKeyOrder.map((index) => rules[index].layer),
          new Date(nowMs),
        ]);
        const rows = await lockRows(transaction, identifiers);
        const { result, counters } = evaluateRules(
          rules,
          rules.map((rule, index) => counterOf(rule, rows[index])),
          nowMs,
        );
        if (!result.allowed) throw new Refusal(result);
        await transaction.rows(WRITE_ROWS, [
          JSON.stringify(
            rules.map((rule, index) => rowValues(rule, rows[index].id, counters[index])),
          ),
        ]);
        return result;
      });
    } catch (error) {
      if (error instanceof Refusal) return error.result;
      throw error;
    }
  }
}

/**
 * SPEC's identifier is varchar(64): longer keys are stored as their SHA-256 (64 hex characters).
 * Keys are already hashed identifiers, so the column never holds a raw phone number.
 */
export function storageIdentifier(key: string): string {
  return key.length <= 64 ? key : createHash('sha256').update(key).digest('hex');
}

async function lockRows(transaction: SqlTransaction, identifiers: string[]): Promise<LockedRow[]> {
  const locked = await transaction.rows<LockedRow>(LOCK_ROWS, [identifiers]);
  const byIdentifier = new Map(locked.map((row) => [row.identifier, row]));
  return identifiers.map((identifier) => {
    const row = byIdentifier.get(identifier);
    if (!row) throw new RowVanishedError(identifier);
    return row;
  });
}

function counterOf(rule: LimitRule, row: LockedRow): CounterState {
  return {
    hits: row.hits.map(Number),
    members: rule.type === 'distinct' ? row.members : [],
    step: rule.type === 'cooldown' ? row.count : 0,
  };
}

function rowValues(rule: LimitRule, id: string, counter: CounterState) {
  return {
    id,
    layer: rule.layer,
    count: rule.type === 'cooldown' ? counter.step : counter.hits.length,
    window_start: counter.hits.length > 0 ? new Date(counter.hits[0]).toISOString() : null,
    hits: counter.hits,
    members: counter.members,
    expires_at: new Date(counterExpiresAt(rule, counter)).toISOString(),
  };
}

/** The order of `COLLATE "C"` for the ASCII keys the policies build. */
function compareCodeUnits(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function isRetryable(error: unknown): boolean {
  if (error instanceof RowVanishedError) return true;
  const code =
    (error as { code?: unknown }).code ??
    (error as { driverError?: { code?: unknown } }).driverError?.code;
  return typeof code === 'string' && RETRYABLE_CODES.has(code);
}
