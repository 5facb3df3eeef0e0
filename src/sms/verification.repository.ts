import { Injectable } from '@nestjs/common';
import { Sql } from '../database/sql';
import { StatementBatcher, WriteBatcher } from '../database/write-batcher';
import { Purpose } from '../common/purpose';
import { VERIFICATION_STATUSES, pendingRow } from './verification.entity';
import {
  Approval,
  AttemptToCount,
  EndedVerification,
  NewVerification,
  ProviderSids,
  ResendOutcome,
  VerificationRow,
} from './verification.rows';
import { batchDelete } from '../database/batch-delete';
import { RetentionPurge } from '../retention/retention-purges';

const RETURNING = `id, purpose, twilio_sid, provider_sid, status, channel, code_hash, locale,
  attempts, max_attempts, send_count, expires_at, created_at, updated_at`;

// Every status is listed so that the (status, expires_at) index serves the scan: a code that
// expired before the cutoff is over whatever its status says, a pending one included.
const ENDED_VERIFICATIONS = batchDelete(
  'sms_verifications',
  ['id'],
  `status = ANY($2::sms_verification_status[]) AND expires_at < $3`,
);

/** The rows of a batched statement (`RETURNING position, …`) as one answer per item, in order. */
function inOrder<T, R>(batch: T[], rows: (R & { position: string })[]): (R | undefined)[] {
  const byPosition = new Map(rows.map(({ position, ...row }) => [Number(position), row as R]));
  return batch.map((_item, index) => byPosition.get(index + 1));
}

/**
 * Every statement on `sms_verifications`. Each count and each consumption is one atomic
 * statement, so concurrent requests cannot exceed an attempt budget or approve a code twice. The
 * hot statements of code checks and sends go in batches (StatementBatcher, WriteBatcher): under
 * load, one round trip for many requests.
 */
@Injectable()
export class VerificationRepository {
  /** Code checks count their attempt a batch per statement, one statement per live verification. */
  private readonly attemptCounts = new StatementBatcher<
    AttemptToCount,
    VerificationRow | undefined
  >((batch) => this.countAttempts(batch), {
    keyOf: ({ phoneHash, purpose }) => `${purpose} ${phoneHash}`,
  });
  private readonly approvals = new StatementBatcher<Approval, VerificationRow | undefined>(
    (batch) => this.approveAll(batch),
    { keyOf: ({ id }) => id },
  );
  private readonly sidWrites = new WriteBatcher<ProviderSids>((batch) => this.writeSids(batch));

  constructor(private readonly sql: Sql) {}

  /**
   * The new pending row, or undefined when the number already has one for this purpose: the
   * partial unique index admits one, so a concurrent send loses here and becomes a resend.
   */
  async insertPending(verification: NewVerification): Promise<VerificationRow | undefined> {
    const [row] = await this.sql.rows<VerificationRow>(
      `INSERT INTO sms_verifications
         (id, phone_number_hash, purpose, twilio_sid, status, channel, code_hash, locale, country_code,
          max_attempts, send_count, last_sent_at, expires_at, created_at, updated_at, phone_prefix_hash,
          client_network_hash)
       VALUES ($1, $2, $3, $4, 'pending', $5, $6, $7, $8, $9, 1, $10, $11, $10, $10, $12, $13)
       ON CONFLICT (phone_number_hash, purpose) WHERE status = 'pending' DO NOTHING
       RETURNING ${RETURNING}`,
      [
        verification.id,
        verification.phoneHash,
        verification.purpose,
        verification.sid,
        verification.channel,
        verification.codeHash,
        verification.locale,
        verification.country,
        verification.maxAttempts,
        verification.now,
        verification.expiresAt,
        verification.prefixHash,
        verification.clientNetworkHash,
      ],
    );
    return row;
  }

  /** Ends the number's pending verification for `purpose` if its time ran out. */
  expireStale(phoneHash: string, purpose: Purpose, now: Date): Promise<EndedVerification[]> {
    return this.sql.rows<EndedVerification>(
      `UPDATE sms_verifications SET status = 'expired', updated_at = $3
        WHERE phone_number_hash = $1 AND purpose = $2 AND ${pendingRow()} AND expires_at <= $3
        RETURNING id, phone_number_hash, purpose, channel, country_code, expires_at`,
      [phoneHash, purpose, now],
    );
  }

  /**
   * Ends up to `limit` pending verifications whose time ran out, oldest first; rows another
   * sweep (another instance's) holds are skipped, not waited for.
   */
  expireDue(now: Date, limit: number): Promise<EndedVerification[]> {
    return this.sql.rows<EndedVerification>(
      `WITH due AS (
         SELECT id FROM sms_verifications
          WHERE status = 'pending' AND expires_at <= $1
          ORDER BY expires_at
          LIMIT $2
            FOR UPDATE SKIP LOCKED
       )
       UPDATE sms_verifications AS verification
          SET status = 'expired', updated_at = $1
         FROM due
        WHERE verification.id = due.id AND ${pendingRow('verification')}
       RETURNING verification.id, verification.phone_number_hash, verification.purpose,
                 verification.channel, verification.country_code, verification.expires_at`,
      [now, limit],
    );
  }

  /**
   * Reserves a resend of the live verification while it has sends left: the row with its new
   * send count, or undefined. The attempt budget and the expiry stay as they were.
   */
  async reserveResend(
    phoneHash: string,
    purpose: Purpose,
    maxSends: number,
    now: Date,
  ): Promise<VerificationRow | undefined> {
    const [reserved] = await this.sql.rows<VerificationRow>(
      `UPDATE sms_verifications SET send_count = send_count + 1, last_sent_at = $4, updated_at = $4
        WHERE phone_number_hash = $1 AND purpose = $2 AND ${pendingRow()} AND expires_at > $4
          AND send_count < $3
        RETURNING ${RETURNING}`,
      [phoneHash, purpose, maxSends, now],
    );
    return reserved;
  }

  /** Records what a reserved resend's provider call changed. */
  async recordResend(outcome: ResendOutcome): Promise<VerificationRow | undefined> {
    const [updated] = await this.sql.rows<VerificationRow>(
      `UPDATE sms_verifications
          SET code_hash = CASE WHEN $6 THEN $2 ELSE COALESCE($2, code_hash) END,
              message_sid = COALESCE($3, message_sid),
              provider_sid = COALESCE($4, provider_sid),
              channel = $5,
              attempts = CASE WHEN $6 THEN 0 ELSE attempts END,
              expires_at = CASE WHEN $6 THEN $7 ELSE expires_at END
        WHERE id = $1 RETURNING ${RETURNING}`,
      [
        outcome.id,
        outcome.codeHash,
        outcome.messageSid,
        outcome.verificationSid,
        outcome.channel,
        outcome.startsDelivering,
        outcome.expiresAt,
      ],
    );
    return updated;
  }

  /** Gives a reserved resend back after its provider call failed; the first send stays. */
  async giveBackSend(id: string): Promise<void> {
    await this.sql.rows(
      `UPDATE sms_verifications SET send_count = send_count - 1 WHERE id = $1 AND send_count > 1`,
      [id],
    );
  }

  /** Notes a first send's provider sids; a batch of sends per statement (see WriteBatcher). */
  recordSids(sids: ProviderSids): Promise<void> {
    return this.sidWrites.add(sids);
  }

  /**
   * The number's pending verification for `purpose`; with `liveAt`, only while it has not expired
   * by then.
   */
  async findPending(
    phoneHash: string,
    purpose: Purpose,
    liveAt?: Date,
  ): Promise<VerificationRow | undefined> {
    const [row] = await this.sql.rows<VerificationRow>(
      `SELECT ${RETURNING} FROM sms_verifications
        WHERE phone_number_hash = $1 AND purpose = $2 AND ${pendingRow()}
          AND ($3::timestamptz IS NULL OR expires_at > $3)`,
      [phoneHash, purpose, liveAt ?? null],
    );
    return row;
  }

  /**
   * One attempt on the number's live verification for `purpose`, if it has attempts left: the
   * counted row, or undefined.
   */
  countAttempt(attempt: AttemptToCount): Promise<VerificationRow | undefined> {
    return this.attemptCounts.add(attempt);
  }

  /** Gives back an attempt that tested nothing (the provider failed, or a limit refused it). */
  async giveBackAttempt(id: string): Promise<void> {
    await this.sql.rows(
      `UPDATE sms_verifications SET attempts = attempts - 1 WHERE id = $1 AND attempts > 0`,
      [id],
    );
  }

  /**
   * Approves the verification if it is still pending, with its new token: the approved row, or
   * undefined when another request approved (or ended) it first.
   */
  approve(approval: Approval): Promise<VerificationRow | undefined> {
    return this.approvals.add(approval);
  }

  /** Ends a pending verification as failed (out of attempts, or nothing was sent). */
  async fail(id: string, now: Date): Promise<void> {
    await this.sql.rows(
      `UPDATE sms_verifications SET status = 'failed', updated_at = $2 WHERE id = $1 AND ${pendingRow()}`,
      [id, now],
    );
  }

  /** Spends a verification token: true exactly once, for its phone and purpose, before it expires. */
  async consumeToken(
    tokenHash: string,
    phoneHash: string,
    purpose: Purpose,
    now: Date,
  ): Promise<boolean> {
    const consumed = await this.sql.rows<{ id: string }>(
      `UPDATE sms_verifications SET token_consumed_at = $4, updated_at = $4
        WHERE token_hash = $1 AND phone_number_hash = $2 AND purpose = $3
          AND token_consumed_at IS NULL AND token_expires_at > $4
        RETURNING id`,
      [tokenHash, phoneHash, purpose, now],
    );
    return consumed.length === 1;
  }

  /**
   * Ends (as expired) the number's pending Twilio Verify verifications of other purposes that
   * share `providerSid`, or whose sid is not recorded yet.
   */
  endOtherPurposesSharing(
    phoneHash: string,
    purpose: Purpose,
    providerSid: string,
    now: Date,
  ): Promise<EndedVerification[]> {
    return this.sql.rows<EndedVerification>(
      `UPDATE sms_verifications SET status = 'expired', updated_at = $4
        WHERE phone_number_hash = $1 AND purpose <> $2 AND ${pendingRow()}
          AND channel = 'twilio-verify' AND (provider_sid = $3 OR provider_sid IS NULL)
        RETURNING id, phone_number_hash, purpose, channel, country_code, expires_at`,
      [phoneHash, purpose, providerSid, now],
    );
  }

  /** Which of these numbers had a verification approved after `since`. */
  async verifiedSince(phoneHashes: string[], since: Date): Promise<Set<string>> {
    const rows = await this.sql.rows<{ hash: string }>(
      `SELECT DISTINCT phone_number_hash AS hash FROM sms_verifications
        WHERE phone_number_hash = ANY($1) AND verified_at > $2`,
      [phoneHashes, since],
    );
    return new Set(rows.map((row) => row.hash));
  }

  /** What retention deletes: verifications over for SMS_VERIFICATION_RETENTION_DAYS. */
  retentionPurges(): RetentionPurge[] {
    return [
      {
        table: 'sms_verifications',
        database: 'main',
        keptFor: 'verification',
        deleteBatch: (limit, cutoff) =>
          ENDED_VERIFICATIONS.run(this.sql, limit, VERIFICATION_STATUSES, cutoff),
      },
    ];
  }

  /**
   * Rows are locked in id order, so concurrent batches (other instances') queue behind each other
   * instead of deadlocking.
   */
  private async countAttempts(batch: AttemptToCount[]): Promise<(VerificationRow | undefined)[]> {
    const counted = await this.sql.prepared<VerificationRow & { position: string }>(
      'verification-count-attempts',
      `WITH attempt AS (
         SELECT * FROM unnest($1::varchar[], $2::sms_purpose[], $3::timestamptz[])
           WITH ORDINALITY AS attempt (phone_number_hash, purpose, at, position)
       ), live AS (
         SELECT verification.id AS verification_id, attempt.at, attempt.position
           FROM sms_verifications AS verification
           JOIN attempt USING (phone_number_hash, purpose)
          WHERE ${pendingRow('verification')} AND verification.expires_at > attempt.at
            AND verification.attempts < verification.max_attempts
          ORDER BY verification.id
            FOR UPDATE OF verification
       )
       UPDATE sms_verifications SET attempts = attempts + 1, updated_at = live.at
         FROM live
        WHERE id = live.verification_id
       RETURNING live.position, ${RETURNING}`,
      [
        batch.map((attempt) => attempt.phoneHash),
        batch.map((attempt) => attempt.purpose),
        batch.map((attempt) => attempt.now),
      ],
    );
    return inOrder(batch, counted);
  }

  private async approveAll(batch: Approval[]): Promise<(VerificationRow | undefined)[]> {
    const approved = await this.sql.prepared<VerificationRow & { position: string }>(
      'verification-approve',
      `WITH approval AS (
         SELECT * FROM unnest($1::uuid[], $2::timestamptz[], $3::varchar[], $4::timestamptz[])
           WITH ORDINALITY AS approval (verification_id, at, new_token_hash, new_token_expires_at, position)
       ), ready AS (
         SELECT approval.*
           FROM sms_verifications AS verification
           JOIN approval ON verification.id = approval.verification_id
          WHERE ${pendingRow('verification')}
          ORDER BY verification.id
            FOR UPDATE OF verification
       )
       UPDATE sms_verifications
          SET status = 'verified', verified_at = ready.at, updated_at = ready.at,
              token_hash = ready.new_token_hash, token_expires_at = ready.new_token_expires_at
         FROM ready
        WHERE id = ready.verification_id
       RETURNING ready.position, ${RETURNING}`,
      [
        batch.map((approval) => approval.id),
        batch.map((approval) => approval.now),
        batch.map((approval) => approval.tokenHash),
        batch.map((approval) => approval.tokenExpiresAt),
      ],
    );
    return inOrder(batch, approved);
  }

  private async writeSids(batch: ProviderSids[]): Promise<void> {
    await this.sql.rows(
      `UPDATE sms_verifications AS verification
          SET twilio_sid = COALESCE(verification.twilio_sid, sent.verification_sid),
              provider_sid = sent.verification_sid,
              message_sid = sent.message_sid
         FROM unnest($1::uuid[], $2::varchar[], $3::varchar[])
           AS sent (id, verification_sid, message_sid)
        WHERE verification.id = sent.id`,
      [
        batch.map((sids) => sids.id),
        batch.map((sids) => sids.verificationSid),
        batch.map((sids) => sids.messageSid),
      ],
    );
  }
}
