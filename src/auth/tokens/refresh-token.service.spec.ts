import { ConfigService } from '@nestjs/config';
import { InMemoryRefreshTokens } from '../../../test/fakes/in-memory-refresh-tokens';
import { Clock } from '../../common/clock';
import { Hasher } from '../../common/hasher';
import { CryptoRandomSource } from '../../common/random';
import { Configuration } from '../../config/configuration';
import { loadConfiguration } from '../../config/load-configuration';
import { InvalidRefreshTokenError } from '../auth.errors';
import { RefreshTokenService } from './refresh-token.service';
import { SessionRevocations } from './session-revocations';

const TTL_SECONDS = 3_600;
const ALICE = '6a3d1f0e-2b7c-4d8e-9f10-1a2b3c4d5e6f';
const BOB = '0e9d8c7b-6a5f-4e3d-8c2b-1a0f9e8d7c6b';

class ManualClock extends Clock {
  private current = Date.parse('2026-06-01T12:00:00Z');
  now(): Date {
    return new Date(this.current);
  }
  advance(seconds: number): void {
    this.current += seconds * 1000;
  }
}

/** The sessions whose access tokens were revoked, in order. */
class RecordedRevocations extends SessionRevocations {
  readonly sessions: { userId: string; sessionId: string }[] = [];
  async revokeSession(session: { userId: string; sessionId: string }): Promise<void> {
    this.sessions.push(session);
  }
  async revokeVersionsBelow(): Promise<void> {}
  async isRevoked(): Promise<boolean> {
    return false;
  }
}

function setUp() {
  const configuration = loadConfiguration({
    NODE_ENV: 'test',
    JWT_REFRESH_TTL_SECONDS: String(TTL_SECONDS),
  });
  const config = {
    get: (key: keyof Configuration) => configuration[key],
  } as unknown as ConfigService<Configuration, true>;
  const tokens = new InMemoryRefreshTokens();
  tokens.setUser(ALICE, 0);
  tokens.setUser(BOB, 0);
  const clock = new ManualClock();
  const revocations = new RecordedRevocations();
  const service = new RefreshTokenService(
    tokens.asRepository(),
    new Hasher('unit-test-secret-0123456789abcdef0123'),
    new CryptoRandomSource(),
    clock,
    revocations,
    config,
  );
  return { service, tokens, clock, revocations };
}

describe('RefreshTokenService', () => {
  it('rotates a token into a successor of the same session, and the spent one no longer works', async () => {
    const { service, tokens } = setUp();
    const login = await service.issue({ userId: ALICE, tokenVersion: 0 });
    expect(login.refreshToken).toMatch(/^rt_/);
    // Only HMACs are stored.
    expect(tokens.tokens.map((token) => token.tokenHash)).not.toContain(login.refreshToken);

    const rotated = await service.rotate(login.refreshToken);
    expect(rotated.subject).toEqual({ userId: ALICE, tokenVersion: 0 });
    expect(rotated.sessionId).toBe(login.sessionId);
    expect(rotated.refreshToken).not.toBe(login.refreshToken);

    const again = await service.rotate(rotated.refreshToken);
    expect(again.sessionId).toBe(login.sessionId);
  });

  it('revokes the whole session when a spent token is presented again, access tokens included', async () => {
    const { service, revocations } = setUp();
    const stolen = await service.issue({ userId: ALICE, tokenVersion: 0 });
    const otherDevice = await service.issue({ userId: ALICE, tokenVersion: 0 });
    const legitimate = await service.rotate(stolen.refreshToken);

    await expect(service.rotate(stolen.refreshToken)).rejects.toBeInstanceOf(
      InvalidRefreshTokenError,
    );
    expect(revocations.sessions).toEqual([{ userId: ALICE, sessionId: stolen.sessionId }]);
    // The successor dies with its family; the user's other session lives on.
    await expect(service.rotate(legitimate.refreshToken)).rejects.toBeInstanceOf(
      InvalidRefreshTokenError,
    );
    expect((await service.rotate(otherDevice.refreshToken)).sessionId).toBe(otherDevice.sessionId);
    // A replay of a family already revoked revokes nothing more.
    await expect(service.rotate(stolen.refreshToken)).rejects.toBeInstanceOf(
      InvalidRefreshTokenError,
    );
    expect(revocations.sessions).toHaveLength(1);
  });

  it('refuses an expired token, an unknown one and one from before a password reset, revoking nothing', async () => {
    const { service, tokens, clock, revocations } = setUp();
    const expiring = await service.issue({ userId: ALICE, tokenVersion: 0 });
    const beforeReset = await service.issue({ userId: BOB, tokenVersion: 0 });

    clock.advance(TTL_SECONDS - 1);
    const stillLive = await service.rotate(expiring.refreshToken);
    clock.advance(TTL_SECONDS);
    await expect(service.rotate(stillLive.refreshToken)).rejects.toBeInstanceOf(
      InvalidRefreshTokenError,
    );

    tokens.setUser(BOB, 1);
    await expect(service.rotate(beforeReset.refreshToken)).rejects.toBeInstanceOf(
      InvalidRefreshTokenError,
    );
    await expect(service.rotate('rt_never-issued')).rejects.toBeInstanceOf(
      InvalidRefreshTokenError,
    );
    expect(revocations.sessions).toEqual([]);
    expect(tokens.tokens.filter((token) => token.revokedAt)).toEqual([]);
  });

  it('logs out one session, and records the access-token revocation again when logout is retried', async () => {
    const { service, revocations } = setUp();
    const phone = await service.issue({ userId: ALICE, tokenVersion: 0 });
    const laptop = await service.issue({ userId: ALICE, tokenVersion: 0 });
    const rotated = await service.rotate(phone.refreshToken);

    await service.revokeFamilyOf(phone.refreshToken);
    await expect(service.rotate(rotated.refreshToken)).rejects.toBeInstanceOf(
      InvalidRefreshTokenError,
    );
    await service.revokeFamilyOf(rotated.refreshToken);
    expect(revocations.sessions).toEqual([
      { userId: ALICE, sessionId: phone.sessionId },
      { userId: ALICE, sessionId: phone.sessionId },
    ]);
    expect((await service.rotate(laptop.refreshToken)).sessionId).toBe(laptop.sessionId);

    await service.revokeFamilyOf('rt_never-issued');
    expect(revocations.sessions).toHaveLength(2);
  });

  it("ends every session of one user and no one else's", async () => {
    const { service } = setUp();
    const first = await service.issue({ userId: ALICE, tokenVersion: 0 });
    const second = await service.issue({ userId: ALICE, tokenVersion: 0 });
    const bob = await service.issue({ userId: BOB, tokenVersion: 0 });

    await service.revokeAllOf(ALICE);
    for (const token of [first, second]) {
      await expect(service.rotate(token.refreshToken)).rejects.toBeInstanceOf(
        InvalidRefreshTokenError,
      );
    }
    expect((await service.rotate(bob.refreshToken)).subject.userId).toBe(BOB);
  });

  it("issues into a given session when asked to, and that session's logout ends it too", async () => {
    const { service } = setUp();
    const first = await service.issue({ userId: ALICE, tokenVersion: 0 });
    const same = await service.issue({ userId: ALICE, tokenVersion: 0 }, first.sessionId);
    expect(same.sessionId).toBe(first.sessionId);
    await service.revokeFamilyOf(first.refreshToken);
    await expect(service.rotate(same.refreshToken)).rejects.toBeInstanceOf(
      InvalidRefreshTokenError,
    );
  });
});
