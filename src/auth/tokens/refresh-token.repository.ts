import { Injectable } from '@nestjs/common';
import { Sql } from '../../database/sql';
import { batchDelete } from '../../database/batch-delete';
import { RetentionPurge } from '../../retention/retention-purges';

// A used token is kept until it has expired: presenting it again is what revokes a stolen
// family (refresh-token.service.ts), whenever that happens in its lifetime.
const EXPIRED_TOKENS = batchDelete('refresh_tokens', ['id'], `expires_at < $2`);
const REVOKED_TOKENS = batchDelete('refresh_tokens', ['id'], `revoked_at < $2`);

/** A refresh token to store; the token itself is never stored, only its HMAC. */
export interface NewRefreshToken {
  id: string;
  userId: string;
  familyId: string;
  tokenHash: string;
  tokenVersion: number;
  expiresAt: Date;
  createdAt: Date;
}

/** A rotation: the presented token's HMAC, and its successor's. */
export interface Rotation {
  tokenHash: string;
  now: Date;
  successorId: string;
  successorHash: string;
  successorExpiresAt: Date;
}

/** The session (token family) a rotation continued. */
export interface RotatedToken {
  userId: string;
  tokenVersion: number;
  familyId: string;
}

/** One login's session: the user and the family of its refresh tokens. */
export interface TokenFamily {
  userId: string;
  familyId: string;
}

/** What the access-token check needs to know of a session. */
export interface SessionState {
  /** The user's current token version. */
  tokenVersion: number;
  /** Whether any refresh token of the session's family was revoked. */
  sessionRevoked: boolean;
}

/**
 * Every statement on `refresh_tokens`, and the reads of session revocations (which ask `users`
 * for the current token version). Rotation and revocation are one statement each, so concurrent
 * uses of one token yield one successor and a replay revokes the family whatever races it.
 */
@Injectable()
export class RefreshTokenRepository {
  constructor(private readonly sql: Sql) {}

  async insert(token: NewRefreshToken): Promise<void> {
    await this.sql.rows(
      `INSERT INTO refresh_tokens
         (id, user_id, family_id, token_hash, token_version, expires_at, created_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7)`,
      [
        token.id,
        token.userId,
        token.familyId,
        token.tokenHash,
        token.tokenVersion,
        token.expiresAt,
        token.createdAt,
      ],
    );
  }

  /**
   * Marks the presented token used and inserts its successor, in one statement, only if it was
   * unused, unrevoked, unexpired and issued under the user's current token version: the session
   * it continued, or undefined (nothing changed).
   */
  async rotate(rotation: Rotation): Promise<RotatedToken | undefined> {
    const [rotated] = await this.sql.rows<{
      user_id: string;
      token_version: number;
      family_id: string;
    }>(
      `WITH used AS (
         UPDATE refresh_tokens AS token SET used_at = $2, replaced_by = $3
           FROM users
          WHERE token.token_hash = $1 AND token.used_at IS NULL AND token.revoked_at IS NULL
            AND token.expires_at > $2
            AND users.id = token.user_id AND users.token_version = token.token_version
          RETURNING token.user_id, token.family_id, token.token_version
       )
       INSERT INTO refresh_tokens
         (id, user_id, family_id, token_hash, token_version, expires_at, created_at)
       SELECT $3, user_id, family_id, $4, token_version, $5, $2 FROM used
       RETURNING user_id, token_version, family_id`,
      [
        rotation.tokenHash,
        rotation.now,
        rotation.successorId,
        rotation.successorHash,
        rotation.successorExpiresAt,
      ],
    );
    return (
      rotated && {
        userId: rotated.user_id,
        tokenVersion: rotated.token_version,
        familyId: rotated.family_id,
      }
    );
  }

  /**
   * Revokes the family of a token that was already used (a replay): the family, or undefined
   * when the token is unknown or unused, or its family was revoked before.
   */
  async revokeReplayedFamily(tokenHash: string, now: Date): Promise<TokenFamily | undefined> {
    const revoked = await this.sql.rows<{ user_id: string; family_id: string }>(
      `UPDATE refresh_tokens SET revoked_at = $2
        WHERE revoked_at IS NULL
          AND family_id = (SELECT family_id FROM refresh_tokens
                            WHERE token_hash = $1 AND used_at IS NOT NULL)
        RETURNING user_id, family_id`,
      [tokenHash, now],
    );
    if (revoked.length === 0) return undefined;
    return { userId: revoked[0].user_id, familyId: revoked[0].family_id };
  }

  /**
   * Revokes the family the token belongs to (logout): the family whenever the token is known,
   * even when the family was revoked before.
   */
  async revokeFamilyOf(tokenHash: string, now: Date): Promise<TokenFamily | undefined> {
    const [session] = await this.sql.rows<{ user_id: string; family_id: string }>(
      `WITH session AS (
         SELECT user_id, family_id FROM refresh_tokens WHERE token_hash = $1
       ), revoked AS (
         UPDATE refresh_tokens SET revoked_at = $2
          WHERE revoked_at IS NULL AND family_id = (SELECT family_id FROM session)
       )
       SELECT user_id, family_id FROM session`,
      [tokenHash, now],
    );
    return session && { userId: session.user_id, familyId: session.family_id };
  }

  /** Revokes every refresh token of the user. */
  async revokeAllOf(userId: string, now: Date): Promise<void> {
    await this.sql.rows(
      `UPDATE refresh_tokens SET revoked_at = $2 WHERE user_id = $1 AND revoked_at IS NULL`,
      [userId, now],
    );
  }

  /** Every session with a token revoked after `since`, each once. */
  async sessionsRevokedSince(since: Date): Promise<{ userId: string; sessionId: string }[]> {
    const sessions = await this.sql.rows<{ user_id: string; family_id: string }>(
      `SELECT DISTINCT user_id, family_id FROM refresh_tokens WHERE revoked_at > $1`,
      [since],
    );
    return sessions.map((row) => ({ userId: row.user_id, sessionId: row.family_id }));
  }

  /** The current token version of every user changed after `since` whose version ever grew. */
  async versionsChangedSince(since: Date): Promise<{ userId: string; tokenVersion: number }[]> {
    const versions = await this.sql.rows<{ id: string; token_version: number }>(
      `SELECT id, token_version FROM users WHERE updated_at > $1 AND token_version > 0`,
      [since],
    );
    return versions.map((row) => ({ userId: row.id, tokenVersion: row.token_version }));
  }

  /**
   * The user's token version and whether the session was revoked, in one indexed read (asked on
   * every request while Redis is unavailable); undefined when the user does not exist.
   */
  async sessionState(userId: string, sessionId: string): Promise<SessionState | undefined> {
    const [row] = await this.sql.prepared<{ token_version: number; session_revoked: boolean }>(
      'session-revocation-check',
      `SELECT users.token_version,
              EXISTS (SELECT 1 FROM refresh_tokens
                       WHERE family_id = $2 AND revoked_at IS NOT NULL) AS session_revoked
         FROM users WHERE users.id = $1`,
      [userId, sessionId],
    );
    return row && { tokenVersion: row.token_version, sessionRevoked: row.session_revoked };
  }

  /** What retention deletes: tokens expired, or revoked, for SMS_VERIFICATION_RETENTION_DAYS. */
  retentionPurges(): RetentionPurge[] {
    return [EXPIRED_TOKENS, REVOKED_TOKENS].map((statement) => ({
      table: 'refresh_tokens',
      database: 'main',
      keptFor: 'verification',
      deleteBatch: (limit, cutoff) => statement.run(this.sql, limit, cutoff),
    }));
  }
}
