import {
  NewRefreshToken,
  RefreshTokenRepository,
  Rotation,
  RotatedToken,
  SessionState,
  TokenFamily,
} from '../../src/auth/tokens/refresh-token.repository';

export interface StoredRefreshToken extends NewRefreshToken {
  usedAt: Date | null;
  revokedAt: Date | null;
  replacedBy: string | null;
}

/**
 * RefreshTokenRepository in memory, for unit specs of the services above it: the same answers
 * for the statements they use, one at a time (the SQL's behaviour under races is the repository
 * tier's, test/repositories/). Users are only their token version and when it last changed.
 */
export class InMemoryRefreshTokens {
  readonly tokens: StoredRefreshToken[] = [];
  readonly users = new Map<string, { tokenVersion: number; updatedAt: Date }>();
  /** Statements answered so far, reads and writes. */
  calls = 0;

  /** A user and its current token version (a password reset raises it). */
  setUser(userId: string, tokenVersion: number, updatedAt = new Date(0)): void {
    this.users.set(userId, { tokenVersion, updatedAt });
  }

  async insert(token: NewRefreshToken): Promise<void> {
    this.calls += 1;
    this.tokens.push({ ...token, usedAt: null, revokedAt: null, replacedBy: null });
  }

  async rotate(rotation: Rotation): Promise<RotatedToken | undefined> {
    this.calls += 1;
    const token = this.byHash(rotation.tokenHash);
    if (!token || token.usedAt || token.revokedAt || token.expiresAt <= rotation.now) {
      return undefined;
    }
    if (this.users.get(token.userId)?.tokenVersion !== token.tokenVersion) return undefined;
    token.usedAt = rotation.now;
    token.replacedBy = rotation.successorId;
    this.tokens.push({
      id: rotation.successorId,
      userId: token.userId,
      familyId: token.familyId,
      tokenHash: rotation.successorHash,
      tokenVersion: token.tokenVersion,
      expiresAt: rotation.successorExpiresAt,
      createdAt: rotation.now,
      usedAt: null,
      revokedAt: null,
      replacedBy: null,
    });
    return { userId: token.userId, tokenVersion: token.tokenVersion, familyId: token.familyId };
  }

  async revokeReplayedFamily(tokenHash: string, now: Date): Promise<TokenFamily | undefined> {
    this.calls += 1;
    const used = this.byHash(tokenHash);
    if (!used?.usedAt) return undefined;
    const revoked = this.revoke((token) => token.familyId === used.familyId, now);
    return revoked[0] && { userId: revoked[0].userId, familyId: revoked[0].familyId };
  }

  async revokeFamilyOf(tokenHash: string, now: Date): Promise<TokenFamily | undefined> {
    this.calls += 1;
    const token = this.byHash(tokenHash);
    if (!token) return undefined;
    this.revoke((candidate) => candidate.familyId === token.familyId, now);
    return { userId: token.userId, familyId: token.familyId };
  }

  async revokeAllOf(userId: string, now: Date): Promise<void> {
    this.calls += 1;
    this.revoke((token) => token.userId === userId, now);
  }

  async sessionsRevokedSince(since: Date) {
    this.calls += 1;
    const sessions = new Map<string, { userId: string; sessionId: string }>();
    for (const token of this.tokens) {
      if (token.revokedAt && token.revokedAt > since) {
        sessions.set(token.familyId, { userId: token.userId, sessionId: token.familyId });
      }
    }
    return [...sessions.values()];
  }

  async versionsChangedSince(since: Date) {
    this.calls += 1;
    return [...this.users]
      .filter(([, user]) => user.updatedAt > since && user.tokenVersion > 0)
      .map(([userId, user]) => ({ userId, tokenVersion: user.tokenVersion }));
  }

  async sessionState(userId: string, sessionId: string): Promise<SessionState | undefined> {
    this.calls += 1;
    const user = this.users.get(userId);
    if (!user) return undefined;
    const sessionRevoked = this.tokens.some(
      (token) => token.familyId === sessionId && token.revokedAt !== null,
    );
    return { tokenVersion: user.tokenVersion, sessionRevoked };
  }

  asRepository(): RefreshTokenRepository {
    return this as unknown as RefreshTokenRepository;
  }

  private byHash(tokenHash: string): StoredRefreshToken | undefined {
    return this.tokens.find((token) => token.tokenHash === tokenHash);
  }

  /** Revokes the unrevoked tokens that match; answers those it revoked. */
  private revoke(matches: (token: StoredRefreshToken) => boolean, now: Date) {
    const revoked = this.tokens.filter((token) => token.revokedAt === null && matches(token));
    for (const token of revoked) token.revokedAt = now;
    return revoked;
  }
}
