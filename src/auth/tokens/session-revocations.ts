import { Logger } from '@nestjs/common';
import type { Cluster, Redis } from 'ioredis';
import { Clock } from '../../common/clock';
import { dependencyFailureReason } from '../../common/errors/dependency-failure';
import { OutageLog } from '../../common/errors/outage-log';
import { RefreshTokenRepository } from './refresh-token.repository';

/** What an access token says about its session. */
export interface SessionClaims {
  userId: string;
  tokenVersion: number;
  /** The refresh-token family the access token was issued with: one login, one session. */
  sessionId: string;
}

/**
 * Ends sessions at once, not when their access tokens expire (up to JWT_ACCESS_TTL_SECONDS later):
 * a logout or a replayed refresh token ends one session, a password reset or a phone change every
 * session of the user (their token version grows). PostgreSQL keeps the truth (revoked refresh
 * tokens, the user's token version); the access-token guard asks this on every request.
 */
export abstract class SessionRevocations {
  abstract revokeSession(session: { userId: string; sessionId: string }): Promise<void>;
  /** Every access token of the user with a version below `tokenVersion` is dead. */
  abstract revokeVersionsBelow(userId: string, tokenVersion: number): Promise<void>;
  abstract isRevoked(session: SessionClaims): Promise<boolean>;
}

/** Asks PostgreSQL: one indexed read per request. Used without Redis, and while Redis is down. */
export class DatabaseSessionRevocations extends SessionRevocations {
  constructor(private readonly tokens: RefreshTokenRepository) {
    super();
  }

  // The refresh-token rows are already revoked by the caller; nothing else to record.
  async revokeSession(): Promise<void> {}

  async revokeVersionsBelow(): Promise<void> {}

  /**
   * What was revoked since `since` (the lifetime of an access token): every session revoked, and
   * the current version of every user changed, so a revocation store that lost its data can be
   * filled again. Versions of users who changed something else come along; recording a user's
   * current version ends no token of that version.
   */
  async revokedSince(since: Date): Promise<{
    sessions: { userId: string; sessionId: string }[];
    versions: { userId: string; tokenVersion: number }[];
  }> {
    const [sessions, versions] = await Promise.all([
      this.tokens.sessionsRevokedSince(since),
      this.tokens.versionsChangedSince(since),
    ]);
    return { sessions, versions };
  }

  async isRevoked({ userId, tokenVersion, sessionId }: SessionClaims): Promise<boolean> {
    const state = await this.tokens.sessionState(userId, sessionId);
    return !state || state.tokenVersion !== tokenVersion || state.sessionRevoked;
  }
}

/** Raises the stored version only: concurrent bumps of one user never lower it. */
const RAISE_VERSION_SCRIPT = `
local current = tonumber(redis.call('GET', KEYS[1]) or '0')
if tonumber(ARGV[1]) > current then
  redis.call('SET', KEYS[1], ARGV[1], 'EX', ARGV[2])
end
return 0`;

/**
 * Revocations in Redis, shared by every instance, each kept as long as an access token issued
 * before it can live: the guard's check is one MGET, no database read. While Redis cannot be
 * reached the check asks PostgreSQL instead (same answer, slower); a revocation that cannot be
 * written fails its request (503), so the client tries again rather than keep a live session.
 * Every time the connection becomes ready (at boot, after each reconnect) the revocations of the
 * last access-token lifetime are written again from PostgreSQL: a Redis that restarted empty, or
 * a replica promoted without them, forgets nothing for long.
 */
export class RedisSessionRevocations extends SessionRevocations {
  private readonly logger = new Logger('SessionRevocations');
  private readonly outages: OutageLog;

  constructor(
    private readonly client: Redis | Cluster,
    private readonly keyPrefix: string,
    private readonly ttlSeconds: number,
    private readonly database: DatabaseSessionRevocations,
    clock: Clock,
  ) {
    super();
    this.outages = new OutageLog(clock);
    client.on('ready', () => void this.restore(clock.now()));
  }

  /** Writes the revocations of the last access-token lifetime again (see the class comment). */
  async restore(now: Date): Promise<void> {
    try {
      const since = new Date(now.getTime() - this.ttlSeconds * 1000);
      const { sessions, versions } = await this.database.revokedSince(since);
      await Promise.all([
        ...sessions.map((session) => this.revokeSession(session)),
        ...versions.map(({ userId, tokenVersion }) =>
          this.revokeVersionsBelow(userId, tokenVersion),
        ),
      ]);
    } catch (error) {
      // The next reconnect tries again; meanwhile checks go on as they can.
      this.logger.warn(
        { errorCode: dependencyFailureReason(error) ?? 'unexpected' },
        'could not restore session revocations in Redis',
      );
    }
  }

  async revokeSession({ userId, sessionId }: { userId: string; sessionId: string }): Promise<void> {
    await this.client.set(this.sessionKey(userId, sessionId), '1', 'EX', this.ttlSeconds);
  }

  async revokeVersionsBelow(userId: string, tokenVersion: number): Promise<void> {
    await this.client.eval(
      RAISE_VERSION_SCRIPT,
      1,
      this.versionKey(userId),
      String(tokenVersion),
      String(this.ttlSeconds),
    );
  }

  async isRevoked(session: SessionClaims): Promise<boolean> {
    let stored: (string | null)[];
    try {
      stored = await this.client.mget(
        this.sessionKey(session.userId, session.sessionId),
        this.versionKey(session.userId),
      );
    } catch (error) {
      const cause = dependencyFailureReason(error) ?? 'redis error';
      const { log, unlogged } = this.outages.record(cause);
      if (log) {
        this.logger.warn(
          { errorCode: cause, repeatsSinceLastLine: unlogged },
          'session revocations unreachable in Redis; checking PostgreSQL instead',
        );
      }
      return this.database.isRevoked(session);
    }
    const [sessionRevoked, newestVersion] = stored;
    return sessionRevoked !== null || Number(newestVersion ?? 0) > session.tokenVersion;
  }

  /**
   * Both keys of a user share a hash tag, so the MGET stays on one slot of a Redis Cluster (the
   * prefix holds no braces there; see REDIS_KEY_PREFIX).
   */
  private sessionKey(userId: string, sessionId: string): string {
    return `${this.keyPrefix}{session:${userId}}:revoked:${sessionId}`;
  }

  private versionKey(userId: string): string {
    return `${this.keyPrefix}{session:${userId}}:version`;
  }
}
