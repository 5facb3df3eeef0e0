import { randomBytes, randomInt, randomUUID } from 'node:crypto';
import {
  NewRefreshToken,
  RefreshTokenRepository,
} from '../../src/auth/tokens/refresh-token.repository';
import { UserRepository } from '../../src/auth/user.repository';
import { RepositoryDatabase, openRepositoryDatabase } from '../support/repository-database';

/**
 * The SQL of refresh-token rotation and session revocation, against a migrated PostgreSQL: what
 * each statement guarantees when requests race, which RefreshTokenService and the revocation
 * checks rely on.
 */
describe('RefreshTokenRepository', () => {
  let database: RepositoryDatabase;
  let repository: RefreshTokenRepository;
  let users: UserRepository;
  const NOW = new Date('2026-06-01T12:00:00.000Z');
  const later = (seconds: number) => new Date(NOW.getTime() + seconds * 1000);

  beforeAll(async () => {
    database = await openRepositoryDatabase();
    repository = new RefreshTokenRepository(database.sql);
    users = new UserRepository(database.sql);
  });

  afterAll(() => database.close());

  const newHash = () => randomBytes(32).toString('hex');

  async function newUser(): Promise<string> {
    const phoneNumber = `+2519${String(randomInt(10_000_000, 99_999_999))}`;
    const user = await users.create({
      phoneNumber,
      phoneNumberHash: newHash(),
      passwordHash: 'password-hash',
      now: NOW,
    });
    return user!.id;
  }

  /** A stored token of a new family (unless one is given), live for an hour. */
  async function issue(userId: string, overrides: Partial<NewRefreshToken> = {}) {
    const token: NewRefreshToken = {
      id: randomUUID(),
      userId,
      familyId: randomUUID(),
      tokenHash: newHash(),
      tokenVersion: 0,
      expiresAt: later(3_600),
      createdAt: NOW,
      ...overrides,
    };
    await repository.insert(token);
    return token;
  }

  function rotation(tokenHash: string, now = NOW) {
    return {
      tokenHash,
      now,
      successorId: randomUUID(),
      successorHash: newHash(),
      successorExpiresAt: later(7_200),
    };
  }

  async function family(familyId: string) {
    return database.sql.rows<{
      id: string;
      used_at: Date | null;
      revoked_at: Date | null;
      replaced_by: string | null;
    }>(
      `SELECT id, used_at, revoked_at, replaced_by FROM refresh_tokens
        WHERE family_id = $1 ORDER BY created_at, id`,
      [familyId],
    );
  }

  it('rotates a token into one successor however many uses race', async () => {
    const userId = await newUser();
    const token = await issue(userId);
    const attempts = Array.from({ length: 6 }, () => rotation(token.tokenHash, later(1)));
    const results = await Promise.all(attempts.map((attempt) => repository.rotate(attempt)));

    const winners = results.flatMap((result, index) => (result ? [attempts[index]] : []));
    expect(winners).toHaveLength(1);
    expect(results.find(Boolean)).toEqual({ userId, tokenVersion: 0, familyId: token.familyId });
    const rows = await family(token.familyId);
    expect(rows).toHaveLength(2);
    const spent = rows.find((row) => row.id === token.id)!;
    expect(spent).toMatchObject({ used_at: later(1), replaced_by: winners[0].successorId });
    // The successor rotates in turn, in the same family.
    const next = await repository.rotate(rotation(winners[0].successorHash, later(2)));
    expect(next?.familyId).toBe(token.familyId);
  });

  it('rotates nothing that is expired, revoked, unknown or from before the user changed its version', async () => {
    const userId = await newUser();
    const expiring = await issue(userId, { expiresAt: later(60) });
    expect(await repository.rotate(rotation(expiring.tokenHash, later(60)))).toBeUndefined();

    const revoked = await issue(userId);
    await repository.revokeFamilyOf(revoked.tokenHash, NOW);
    expect(await repository.rotate(rotation(revoked.tokenHash))).toBeUndefined();
    expect(await repository.rotate(rotation(newHash()))).toBeUndefined();

    const beforeReset = await issue(userId);
    await users.resetPassword(userId, 'new-password-hash', NOW);
    expect(await repository.rotate(rotation(beforeReset.tokenHash))).toBeUndefined();
    const afterReset = await issue(userId, { tokenVersion: 1 });
    expect((await repository.rotate(rotation(afterReset.tokenHash)))?.tokenVersion).toBe(1);

    for (const token of [expiring, revoked, beforeReset]) {
      const rows = await family(token.familyId);
      expect(rows).toHaveLength(1);
      expect(rows[0].used_at).toBeNull();
    }
  });

  it('revokes the family of a replayed token, successors included, and reports it once', async () => {
    const userId = await newUser();
    const token = await issue(userId);
    const bystander = await issue(userId);
    expect(await repository.revokeReplayedFamily(token.tokenHash, NOW)).toBeUndefined();
    expect((await family(token.familyId))[0].revoked_at).toBeNull();

    const next = rotation(token.tokenHash, later(1));
    await repository.rotate(next);
    const replays = await Promise.all(
      Array.from({ length: 4 }, () => repository.revokeReplayedFamily(token.tokenHash, later(2))),
    );
    expect(replays.filter(Boolean)).toEqual([{ userId, familyId: token.familyId }]);
    const rows = await family(token.familyId);
    expect(rows.map((row) => row.revoked_at)).toEqual([later(2), later(2)]);
    expect(await repository.rotate(rotation(next.successorHash, later(3)))).toBeUndefined();
    expect((await family(bystander.familyId))[0].revoked_at).toBeNull();
  });

  it('logs out the whole family, and answers the session again when the family was revoked before', async () => {
    const userId = await newUser();
    const token = await issue(userId);
    const bystander = await issue(userId);
    const next = rotation(token.tokenHash, later(1));
    await repository.rotate(next);

    expect(await repository.revokeFamilyOf(token.tokenHash, later(2))).toEqual({
      userId,
      familyId: token.familyId,
    });
    expect((await family(token.familyId)).map((row) => row.revoked_at)).toEqual([
      later(2),
      later(2),
    ]);
    // A retried logout finds the session (to revoke its access tokens) and keeps the first time.
    expect(await repository.revokeFamilyOf(next.successorHash, later(5))).toEqual({
      userId,
      familyId: token.familyId,
    });
    expect((await family(token.familyId)).map((row) => row.revoked_at)).toEqual([
      later(2),
      later(2),
    ]);
    expect(await repository.revokeFamilyOf(newHash(), later(5))).toBeUndefined();
    expect((await family(bystander.familyId))[0].revoked_at).toBeNull();
  });

  it("revokes every token of one user and no one else's, keeping earlier revocation times", async () => {
    const userId = await newUser();
    const other = await newUser();
    const first = await issue(userId);
    const second = await issue(userId);
    const theirs = await issue(other);
    await repository.revokeFamilyOf(first.tokenHash, later(1));

    await repository.revokeAllOf(userId, later(10));
    expect((await family(first.familyId))[0].revoked_at).toEqual(later(1));
    expect((await family(second.familyId))[0].revoked_at).toEqual(later(10));
    expect((await family(theirs.familyId))[0].revoked_at).toBeNull();
  });

  it('lists the sessions revoked and the versions changed after a time, each session once', async () => {
    const since = later(100_000);
    const userId = await newUser();
    const token = await issue(userId);
    await repository.rotate(rotation(token.tokenHash, since));
    await repository.revokeFamilyOf(token.tokenHash, new Date(since.getTime() + 1));
    const before = await issue(userId);
    await repository.revokeFamilyOf(before.tokenHash, since);

    expect(await repository.sessionsRevokedSince(since)).toEqual([
      { userId, sessionId: token.familyId },
    ]);

    const reset = await newUser();
    const untouched = await newUser();
    await users.resetPassword(reset, 'new-password-hash', later(100_001));
    await users.setTwoFactor(untouched, true, later(100_001));
    expect(await repository.versionsChangedSince(since)).toEqual([
      { userId: reset, tokenVersion: 1 },
    ]);
  });

  it("answers a session's state: the user's current version, and whether its family was revoked", async () => {
    const userId = await newUser();
    const token = await issue(userId);
    const next = rotation(token.tokenHash, later(1));
    await repository.rotate(next);
    expect(await repository.sessionState(userId, token.familyId)).toEqual({
      tokenVersion: 0,
      sessionRevoked: false,
    });

    await repository.revokeReplayedFamily(token.tokenHash, later(2));
    await users.resetPassword(userId, 'new-password-hash', later(3));
    expect(await repository.sessionState(userId, token.familyId)).toEqual({
      tokenVersion: 1,
      sessionRevoked: true,
    });
    expect(await repository.sessionState(userId, randomUUID())).toEqual({
      tokenVersion: 1,
      sessionRevoked: false,
    });
    expect(await repository.sessionState(randomUUID(), token.familyId)).toBeUndefined();
  });
});
