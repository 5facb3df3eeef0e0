import { randomBytes } from 'node:crypto';
import type { Sql } from '../../src/database/sql';
import type { Purpose } from '../../src/common/purpose';
import type { VerificationStatus } from '../../src/sms/verification.entity';

/**
 * Rows written straight to the database with the dates a test needs (months in the past, for
 * retention); going through HTTP would need the clock to travel for every one of them.
 * Each function answers the row's primary key.
 */

const hex = (bytes: number) => randomBytes(bytes).toString('hex');

/** The main database (Sql) or the analytics one (AnalyticsDatabase). */
type Database = Pick<Sql, 'rows'>;

export async function insertVerification(
  sql: Database,
  row: {
    status: VerificationStatus;
    createdAt: Date;
    expiresAt: Date;
    phoneNumberHash?: string;
    purpose?: Purpose;
  },
): Promise<string> {
  const [{ id }] = await sql.rows<{ id: string }>(
    `INSERT INTO sms_verifications (phone_number_hash, purpose, status, channel, locale,
       country_code, last_sent_at, expires_at, created_at, updated_at)
     VALUES ($1, $2, $3, 'twilio-messaging', 'en', 'ET', $4, $5, $4, $4) RETURNING id`,
    [
      row.phoneNumberHash ?? hex(32),
      row.purpose ?? 'login',
      row.status,
      row.createdAt,
      row.expiresAt,
    ],
  );
  return id;
}

export async function insertRefreshToken(
  sql: Database,
  row: { userId: string; expiresAt: Date; usedAt?: Date; revokedAt?: Date },
): Promise<string> {
  const [{ id }] = await sql.rows<{ id: string }>(
    `INSERT INTO refresh_tokens (user_id, family_id, token_hash, token_version, expires_at,
       used_at, revoked_at)
     VALUES ($1, gen_random_uuid(), $2, 0, $3, $4, $5) RETURNING id`,
    [row.userId, hex(32), row.expiresAt, row.usedAt ?? null, row.revokedAt ?? null],
  );
  return id;
}

export async function insertHold(
  sql: Database,
  row: { createdAt: Date; expiresAt: Date; liftedAt?: Date },
): Promise<string> {
  const [{ id }] = await sql.rows<{ id: string }>(
    `INSERT INTO sms_holds (scope, scope_key, label, mode, sends, verified, created_at,
       expires_at, lifted_at)
     VALUES ('prefix', $1, '+25191123····', 'enforced', 60, 1, $2, $3, $4) RETURNING id`,
    [hex(32), row.createdAt, row.expiresAt, row.liftedAt ?? null],
  );
  return id;
}

export async function insertSuppression(
  sql: Database,
  row: { createdAt: Date; expiresAt: Date },
): Promise<string> {
  const [{ phone_hash }] = await sql.rows<{ phone_hash: string }>(
    `INSERT INTO sms_suppressions (phone_hash, error_code, created_at, expires_at)
     VALUES ($1, '30003', $2, $3) RETURNING phone_hash`,
    [hex(32), row.createdAt, row.expiresAt],
  );
  return phone_hash;
}

export async function insertRateLimitCounter(
  sql: Database,
  row: { expiresAt: Date },
): Promise<string> {
  const [{ id }] = await sql.rows<{ id: string }>(
    `INSERT INTO sms_rate_limits (identifier, limit_type, hits, members, expires_at)
     VALUES ($1, 'phone', '{}', '{}', $2) RETURNING id`,
    [`test:${hex(16)}`, row.expiresAt],
  );
  return id;
}

export async function insertEvent(sql: Database, row: { occurredAt: Date }): Promise<string> {
  const [{ id }] = await sql.rows<{ id: string }>(
    `INSERT INTO sms_events (phone_hash, purpose, status, country_code, occurred_at)
     VALUES ($1, 'login', 'sent', 'ET', $2) RETURNING id`,
    [hex(32), row.occurredAt],
  );
  return id;
}

/** Answers the country code, which tests keep distinct per row to tell their rollups apart. */
export async function insertRollup(
  sql: Database,
  row: { bucket: Date; countryCode: string },
): Promise<string> {
  await sql.rows(
    `INSERT INTO sms_event_rollups (bucket, country_code, purpose, status, events)
     VALUES ($1, $2, 'login', 'sent', 1)`,
    [row.bucket, row.countryCode],
  );
  return row.countryCode;
}

/** An hour's response times for one country (the key returned: countries tell rows apart). */
export async function insertResponseTimeRollup(
  sql: Database,
  row: { bucket: Date; countryCode: string },
): Promise<string> {
  await sql.rows(
    `INSERT INTO sms_response_time_rollups (bucket, country_code, purpose, responses, rt_histogram)
     VALUES ($1, $2, 'login', 1, '{0,0,0,0,1}')`,
    [row.bucket, row.countryCode],
  );
  return row.countryCode;
}

/** A route-minute of request timings; the route tells rows apart (the key is returned). */
export async function insertRequestTiming(
  sql: Database,
  row: { minute: Date; route: string },
): Promise<string> {
  await sql.rows(
    `INSERT INTO sms_request_timings (minute, route, requests, response_ms_sum, rt_histogram)
     VALUES ($1, $2, 1, 12, '{0,0,0,0,0,0,0,0,0,0,1}')`,
    [row.minute, row.route],
  );
  return row.route;
}

export async function insertMessage(sql: Database, row: { createdAt: Date }): Promise<string> {
  const [{ sid }] = await sql.rows<{ sid: string }>(
    `INSERT INTO sms_messages (sid, phone_hash, country_code, purpose, status, status_rank,
       created_at, updated_at)
     VALUES ($1, $2, 'ET', 'login', 'delivered', 3, $3, $3) RETURNING sid`,
    [`SM${hex(16)}`, hex(32), row.createdAt],
  );
  return sid;
}
