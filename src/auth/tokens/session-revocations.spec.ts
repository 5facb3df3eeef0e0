import type { Redis } from 'ioredis';
import { SystemClock } from '../../common/clock';
import { InMemoryRefreshTokens } from '../../../test/fakes/in-memory-refresh-tokens';
import {
  DatabaseSessionRevocations,
  RedisSessionRevocations,
  SessionClaims,
} from './session-revocations';

/** Redis as the revocation checks use it: keys with values, or an outage. */
class FakeRedis {
  readonly values = new Map<string, string>();
  down = false;
  readonly listeners = new Map<string, () => void>();

  on(event: string, listener: () => void): this {
    this.listeners.set(event, listener);
    return this;
  }

  async mget(...keys: string[]): Promise<(string | null)[]> {
    if (this.down) throw Object.assign(new Error('Connection is closed.'), {});
    return keys.map((key) => this.values.get(key) ?? null);
  }

  async set(key: string, value: string): Promise<'OK'> {
    this.values.set(key, value);
    return 'OK';
  }

  async eval(_script: string, _count: number, key: string, version: string): Promise<number> {
    if (Number(this.values.get(key) ?? 0) < Number(version)) this.values.set(key, version);
    return 0;
  }
}

const session: SessionClaims = {
  userId: '3f0c2a9e-8b1d-4c7e-9a55-2d4b6e8f1a03',
  tokenVersion: 2,
  sessionId: '0f5e6a51-6f0c-4f6e-9b1a-2b8f1f6c9d3e',
};

/**
 * What PostgreSQL knows of the user: its current token version and, with `session_revoked`, the
 * session's refresh tokens revoked a moment ago (and the version changed then too).
 */
function revocationsWith(database: { token_version: number; session_revoked: boolean }) {
  const redis = new FakeRedis();
  const sql = new InMemoryRefreshTokens();
  const now = new Date();
  sql.setUser(session.userId, database.token_version, now);
  if (database.session_revoked) {
    sql.tokens.push({
      id: 'token-of-the-session',
      userId: session.userId,
      familyId: session.sessionId,
      tokenHash: 'hash',
      tokenVersion: session.tokenVersion,
      expiresAt: new Date(now.getTime() + 60_000),
      createdAt: now,
      usedAt: null,
      revokedAt: now,
      replacedBy: null,
    });
  }
  const revocations = new RedisSessionRevocations(
    redis as unknown as Redis,
    'test:',
    960,
    new DatabaseSessionRevocations(sql.asRepository()),
    new SystemClock(),
  );
  return { redis, sql, revocations };
}

describe('RedisSessionRevocations', () => {
  it('answers from Redis alone while it is up: no database read per request', async () => {
    const { sql, revocations } = revocationsWith({ token_version: 2, session_revoked: false });
    expect(await revocations.isRevoked(session)).toBe(false);
    await revocations.revokeSession(session);
    expect(await revocations.isRevoked(session)).toBe(true);
    expect(await revocations.isRevoked({ ...session, sessionId: 'another-session' })).toBe(false);
    expect(sql.calls).toBe(0);
  });

  it('ends tokens of older versions, and never lowers the version', async () => {
    const { revocations } = revocationsWith({ token_version: 3, session_revoked: false });
    await revocations.revokeVersionsBelow(session.userId, 3);
    await revocations.revokeVersionsBelow(session.userId, 2);
    expect(await revocations.isRevoked(session)).toBe(true);
    expect(await revocations.isRevoked({ ...session, tokenVersion: 3 })).toBe(false);
  });

  it('writes recent revocations again when the connection becomes ready (Redis lost them)', async () => {
    const { redis, revocations } = revocationsWith({ token_version: 3, session_revoked: true });
    expect(await revocations.isRevoked({ ...session, tokenVersion: 3 })).toBe(false);
    await revocations.restore(new Date());
    expect(await revocations.isRevoked({ ...session, tokenVersion: 3 })).toBe(true);
    expect(await revocations.isRevoked({ ...session, sessionId: 'other', tokenVersion: 2 })).toBe(
      true,
    );
    expect(redis.listeners.has('ready')).toBe(true);
  });

  it('asks PostgreSQL while Redis is down, and gets its answer', async () => {
    const revoked = revocationsWith({ token_version: 2, session_revoked: true });
    revoked.redis.down = true;
    expect(await revoked.revocations.isRevoked(session)).toBe(true);
    expect(revoked.sql.calls).toBe(1);

    const live = revocationsWith({ token_version: 2, session_revoked: false });
    live.redis.down = true;
    expect(await live.revocations.isRevoked(session)).toBe(false);
    expect(await live.revocations.isRevoked({ ...session, tokenVersion: 1 })).toBe(true);
  });
});
