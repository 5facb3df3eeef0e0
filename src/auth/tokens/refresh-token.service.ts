import { Injectable, Logger } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { randomUUID } from 'node:crypto';
import { Clock } from '../../common/clock';
import { Hasher } from '../../common/hasher';
import { RandomSource } from '../../common/random';
import { Configuration } from '../../config/configuration';
import { Sql } from '../../database/sql';
import { InvalidRefreshTokenError } from '../auth.errors';
import { TokenSubject } from './access-token.service';
import { SessionRevocations } from './session-revocations';

/**
 * Opaque refresh tokens, stored as HMACs and rotated on every use. Rotation is one statement:
 * the presented token is marked used and its successor inserted only if it was unused, unrevoked,
 * unexpired and issued under the user's current token version, so concurrent uses of one token
 * yield one successor. Presenting a used token again revokes its whole family.
 */
@Injectable()
export class RefreshTokenService {
  private readonly logger = new Logger('RefreshTokens');
  private readonly ttlSeconds: number;

  constructor(
    private readonly sql: Sql,
    private readonly hasher: Hasher,
    private readonly random: RandomSource,
    private readonly clock: Clock,
    private readonly revocations: SessionRevocations,
    config: ConfigService<Configuration, true>,
  ) {
    this.ttlSeconds = config.get('auth', { infer: true }).refreshTtlSeconds;
  }

  /** A new token, in a new family (a new session) unless one is given. */
  async issue(
    subject: TokenSubject,
    familyId: string = randomUUID(),
  ): Promise<{ refreshToken: string; sessionId: string }> {
    const token = this.newToken();
    const now = this.clock.now();
    await this.sql.rows(
      `INSERT INTO refresh_tokens
         (id, user_id, family_id, token_hash, token_version, expires_at, created_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7)`,
      [
        randomUUID(),
        subject.userId,
        familyId,
        this.hasher.hash('refresh-token', token),
        subject.tokenVersion,
        this.expiry(now),
        now,
      ],
    );
    return { refreshToken: token, sessionId: familyId };
  }

  /** Spends the token and returns its successor; throws InvalidRefreshTokenError otherwise. */
  async rotate(
    token: string,
  ): Promise<{ subject: TokenSubject; refreshToken: string; sessionId: string }> {
    const now = this.clock.now();
    const tokenHash = this.hasher.hash('refresh-token', token);
    const successor = this.newToken();
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
        tokenHash,
        now,
        randomUUID(),
        this.hasher.hash('refresh-token', successor),
        this.expiry(now),
      ],
    );
    if (rotated) {
      return {
        subject: { userId: rotated.user_id, tokenVersion: rotated.token_version },
        refreshToken: successor,
        sessionId: rotated.family_id,
      };
    }
    await this.revokeFamilyIfReplayed(tokenHash, now);
    throw new InvalidRefreshTokenError();
  }

  /**
   * Logout: ends the session the token belongs to (its whole family), access tokens included. The
   * access tokens' revocation is recorded even when the family was revoked before: a logout that
   * failed half-way (the revocation store down) and is tried again must finish the job.
   */
  async revokeFamilyOf(token: string): Promise<void> {
    const [session] = await this.sql.rows<{ user_id: string; family_id: string }>(
      `WITH session AS (
         SELECT user_id, family_id FROM refresh_tokens WHERE token_hash = $1
       ), revoked AS (
         UPDATE refresh_tokens SET revoked_at = $2
          WHERE revoked_at IS NULL AND family_id = (SELECT family_id FROM session)
       )
       SELECT user_id, family_id FROM session`,
      [this.hasher.hash('refresh-token', token), this.clock.now()],
    );
    if (session) {
      await this.revocations.revokeSession({
        userId: session.user_id,
        sessionId: session.family_id,
      });
    }
  }

  /** Ends every session of the user (password reset, phone change). */
  async revokeAllOf(userId: string): Promise<void> {
    await this.sql.rows(
      `UPDATE refresh_tokens SET revoked_at = $2 WHERE user_id = $1 AND revoked_at IS NULL`,
      [userId, this.clock.now()],
    );
  }

  private async revokeFamilyIfReplayed(tokenHash: string, now: Date): Promise<void> {
    const revoked = await this.sql.rows<{ user_id: string; family_id: string }>(
      `UPDATE refresh_tokens SET revoked_at = $2
        WHERE revoked_at IS NULL
          AND family_id = (SELECT family_id FROM refresh_tokens
                            WHERE token_hash = $1 AND used_at IS NOT NULL)
        RETURNING user_id, family_id`,
      [tokenHash, now],
    );
    if (revoked.length > 0) {
      const { user_id: userId, family_id: sessionId } = revoked[0];
      this.logger.warn(
        { userId, familyId: sessionId },
        'a used refresh token was presented again; its family is revoked',
      );
      await this.revocations.revokeSession({ userId, sessionId });
    }
  }

  private newToken(): string {
    return `rt_${this.random.token(32)}`;
  }

  private expiry(now: Date): Date {
    return new Date(now.getTime() + this.ttlSeconds * 1000);
  }
}
