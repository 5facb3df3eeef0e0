import { Injectable, Logger } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { randomUUID } from 'node:crypto';
import { Clock } from '../../common/clock';
import { Hasher } from '../../common/hasher';
import { RandomSource } from '../../common/random';
import { Configuration } from '../../config/configuration';
import { InvalidRefreshTokenError } from '../auth.errors';
import { TokenSubject } from './access-token.service';
import { RefreshTokenRepository } from './refresh-token.repository';
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
    private readonly tokens: RefreshTokenRepository,
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
    await this.tokens.insert({
      id: randomUUID(),
      userId: subject.userId,
      familyId,
      tokenHash: this.hasher.hash('refresh-token', token),
      tokenVersion: subject.tokenVersion,
      expiresAt: this.expiry(now),
      createdAt: now,
    });
    return { refreshToken: token, sessionId: familyId };
  }

  /** Spends the token and returns its successor; throws InvalidRefreshTokenError otherwise. */
  async rotate(
    token: string,
  ): Promise<{ subject: TokenSubject; refreshToken: string; sessionId: string }> {
    const now = this.clock.now();
    const tokenHash = this.hasher.hash('refresh-token', token);
    const successor = this.newToken();
    const rotated = await this.tokens.rotate({
      tokenHash,
      now,
      successorId: randomUUID(),
      successorHash: this.hasher.hash('refresh-token', successor),
      successorExpiresAt: this.expiry(now),
    });
    if (rotated) {
      return {
        subject: { userId: rotated.userId, tokenVersion: rotated.tokenVersion },
        refreshToken: successor,
        sessionId: rotated.familyId,
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
    const session = await this.tokens.revokeFamilyOf(
      this.hasher.hash('refresh-token', token),
      this.clock.now(),
    );
    if (session) {
      await this.revocations.revokeSession({
        userId: session.userId,
        sessionId: session.familyId,
      });
    }
  }

  /** Ends every session of the user (password reset, phone change). */
  async revokeAllOf(userId: string): Promise<void> {
    await this.tokens.revokeAllOf(userId, this.clock.now());
  }

  private async revokeFamilyIfReplayed(tokenHash: string, now: Date): Promise<void> {
    const revoked = await this.tokens.revokeReplayedFamily(tokenHash, now);
    if (revoked) {
      const { userId, familyId: sessionId } = revoked;
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
