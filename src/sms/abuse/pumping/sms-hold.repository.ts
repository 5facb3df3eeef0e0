import { Injectable } from '@nestjs/common';
import { Sql } from '../../../database/sql';
import { HoldMode, HoldScope } from './sms-hold.entity';
import { batchDelete } from '../../../database/batch-delete';
import { RetentionPurge } from '../../../retention/retention-purges';

const ENDED_HOLDS = batchDelete('sms_holds', ['id'], `lifted_at < $2 OR expires_at < $2`);

/** A hold as the guard, the operators' routes and the alerts read it. */
export interface ActiveHold {
  id: string;
  scope: HoldScope;
  /** The country code, or the HMAC of the number range. */
  scopeKey: string;
  label: string;
  mode: HoldMode;
  sends: number;
  verified: number;
  ranges: number | null;
  networks: number | null;
  createdAt: Date;
  expiresAt: Date;
}

/** A hold just started (or an expired one renewed) by this instance. */
export type StartedHold = ActiveHold;

/**
 * A scope's codes in the pumping window: how many were sent and verified and, for a country, how
 * many number ranges and client networks its unverified ones came from.
 */
export interface HoldStatistics {
  sends: number;
  verified: number;
  ranges: number | null;
  networks: number | null;
}

export interface NewHold {
  scope: HoldScope;
  scopeKey: string;
  label: string;
  mode: HoldMode;
  statistics: HoldStatistics;
  now: Date;
  expiresAt: Date;
}

const COLUMNS = `id, scope, scope_key AS "scopeKey", label, mode, sends, verified, ranges, networks,
  created_at AS "createdAt", expires_at AS "expiresAt"`;

/**
 * Sends that count towards pumping statistics: real deliveries only. Test numbers are not
 * traffic, and suppressed sends (held ones included) cost nothing and were never meant to be
 * verified.
 */
const COUNTED = `verification.channel NOT IN ('test-number', 'suppressed')`;

/** The sms_holds table, and the statistics holds are decided on. */
@Injectable()
export class SmsHoldRepository {
  constructor(private readonly sql: Sql) {}

  /** Holds not lifted and not expired at `now`, newest first. */
  active(now: Date): Promise<ActiveHold[]> {
    return this.sql.rows<ActiveHold>(
      `SELECT ${COLUMNS} FROM sms_holds WHERE lifted_at IS NULL AND expires_at > $1
        ORDER BY created_at DESC`,
      [now],
    );
  }

  /** The mode of every country held at `now` (not lifted, not expired), by country code. */
  async countryHoldModes(now: Date): Promise<Map<string, HoldMode>> {
    const held = await this.sql.rows<{ scope_key: string; mode: HoldMode }>(
      `SELECT scope_key, mode FROM sms_holds WHERE scope = 'country' AND lifted_at IS NULL AND expires_at > $1`,
      [now],
    );
    return new Map(held.map((hold) => [hold.scope_key, hold.mode]));
  }

  /** Lifts an active hold: true when there was one with this id. */
  async lift(id: string, now: Date): Promise<boolean> {
    const lifted = await this.sql.rows(
      `UPDATE sms_holds SET lifted_at = $2
        WHERE id = $1 AND lifted_at IS NULL AND expires_at > $2 RETURNING id`,
      [id, now],
    );
    return lifted.length === 1;
  }

  /**
   * One active hold per scope, whichever instance gets there first; an expired one is renewed.
   * Resolves to the hold when this call started it, undefined when an active one was there.
   */
  async start(hold: NewHold): Promise<StartedHold | undefined> {
    const { sends, verified, ranges, networks } = hold.statistics;
    const [started] = await this.sql.rows<StartedHold>(
      `INSERT INTO sms_holds
         (scope, scope_key, label, mode, sends, verified, ranges, networks, created_at, expires_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
       ON CONFLICT (scope, scope_key) WHERE lifted_at IS NULL
       DO UPDATE SET label = EXCLUDED.label, mode = EXCLUDED.mode, sends = EXCLUDED.sends,
                     verified = EXCLUDED.verified, ranges = EXCLUDED.ranges,
                     networks = EXCLUDED.networks, created_at = EXCLUDED.created_at,
                     expires_at = EXCLUDED.expires_at
         WHERE sms_holds.expires_at <= EXCLUDED.created_at
       RETURNING ${COLUMNS}`,
      [
        hold.scope,
        hold.scopeKey,
        hold.label,
        hold.mode,
        sends,
        verified,
        ranges,
        networks,
        hold.now,
        hold.expiresAt,
      ],
    );
    return started;
  }

  /**
   * Sends and verifications per number range since `since`, every range of one call in one query.
   * A range an operator lifted is judged only on what it sent after the lift.
   */
  async rangeStatistics(keys: string[], since: Date): Promise<Map<string, HoldStatistics>> {
    const rows = await this.sql.rows<{ key: string; sends: string; verified: string }>(
      `SELECT scoped.key, count(verification.id) AS sends,
              count(verification.verified_at) AS verified
         FROM unnest($1::varchar[]) AS scoped (key)
         CROSS JOIN LATERAL (
           SELECT GREATEST($2::timestamptz, COALESCE(max(lifted_at), $2::timestamptz)) AS since
             FROM sms_holds WHERE scope = 'prefix' AND scope_key = scoped.key) AS bound
         LEFT JOIN sms_verifications AS verification
           ON verification.phone_prefix_hash = scoped.key AND ${COUNTED}
          AND verification.created_at > bound.since
        GROUP BY scoped.key`,
      [keys, since],
    );
    return new Map(
      rows.map((row) => [
        row.key,
        { sends: Number(row.sends), verified: Number(row.verified), ranges: null, networks: null },
      ]),
    );
  }

  /**
   * A country's sends since `since`, how many were verified, and how many ranges and client
   * networks the unverified ones span: all of it outside the ranges that explain their own
   * traffic, those held at `now` and those whose own conversion would hold them (`rangeHold`), so
   * whether a range's hold was placed a moment before or after does not change the answer. A
   * country an operator lifted is judged only on what it sent after the lift.
   */
  async countryStatistics(
    keys: string[],
    since: Date,
    now: Date,
    rangeHold: { minSends: number; minConversion: number },
  ): Promise<Map<string, HoldStatistics>> {
    const rows = await this.sql.rows<{
      key: string;
      sends: string;
      verified: string;
      ranges: string;
      networks: string;
    }>(
      `SELECT scoped.key, counted.*
         FROM unnest($1::bpchar[]) AS scoped (key)
         CROSS JOIN LATERAL (
           SELECT GREATEST($2::timestamptz, COALESCE(max(lifted_at), $2::timestamptz)) AS since
             FROM sms_holds WHERE scope = 'country' AND scope_key = scoped.key) AS bound
         CROSS JOIN LATERAL (
           WITH sent AS (
             SELECT verification.phone_prefix_hash, verification.client_network_hash,
                    verification.verified_at
               FROM sms_verifications AS verification
              WHERE verification.country_code = scoped.key AND ${COUNTED}
                AND verification.created_at > bound.since
           ), explained AS (
             SELECT phone_prefix_hash FROM sent GROUP BY phone_prefix_hash
             HAVING count(*) >= $4::integer AND count(verified_at) < $5::float8 * count(*)
             UNION
             SELECT scope_key FROM sms_holds
              WHERE scope = 'prefix' AND lifted_at IS NULL AND expires_at > $3
           )
           SELECT count(*) AS sends, count(verified_at) AS verified,
                  count(DISTINCT phone_prefix_hash) FILTER (WHERE verified_at IS NULL) AS ranges,
                  count(DISTINCT client_network_hash) FILTER (WHERE verified_at IS NULL) AS networks
             FROM sent
            WHERE NOT EXISTS (
              SELECT 1 FROM explained WHERE explained.phone_prefix_hash = sent.phone_prefix_hash)
         ) AS counted`,
      [keys, since, now, rangeHold.minSends, rangeHold.minConversion],
    );
    return new Map(
      rows.map((row) => [
        row.key.trim(),
        {
          sends: Number(row.sends),
          verified: Number(row.verified),
          ranges: Number(row.ranges),
          networks: Number(row.networks),
        },
      ]),
    );
  }

  /** What retention deletes: holds lifted or expired for SMS_VERIFICATION_RETENTION_DAYS. */
  retentionPurges(): RetentionPurge[] {
    return [
      {
        table: 'sms_holds',
        database: 'main',
        keptFor: 'verification',
        deleteBatch: (limit, cutoff) => ENDED_HOLDS.run(this.sql, limit, cutoff),
      },
    ];
  }
}
