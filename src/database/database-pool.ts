import { Logger } from '@nestjs/common';
import pg, { Pool, PoolConfig } from 'pg';
import { dependencyFailureReason } from '../common/errors/dependency-failure';
import { DatabaseConfig } from './database.config';
import { EMBEDDED_POOL_OPTIONS, EmbeddedConnection } from './embedded-postgres';

/**
 * The pg pool settings of the service's database: its PostgreSQL server (DATABASE_URL), or the
 * embedded database's one session.
 */
export function poolConfig(database: DatabaseConfig, embedded?: EmbeddedConnection): PoolConfig {
  if (embedded) {
    return {
      host: embedded.host,
      port: embedded.port,
      user: embedded.username,
      database: embedded.database,
      ...EMBEDDED_POOL_OPTIONS,
    };
  }
  return {
    connectionString: database.url,
    max: database.poolSize,
    // An unreachable server costs a caller seconds, never a wait without end.
    connectionTimeoutMillis: 3_000,
    idleTimeoutMillis: 30_000,
    statement_timeout: database.statementTimeoutMs,
    application_name: 'sms-verification',
  };
}

/**
 * The one pool of connections to the service's database. Every statement goes through it: the
 * repositories' (through `Sql`) and TypeORM's migrations (`typeOrmDriverOver`).
 */
export function createDatabasePool(config: PoolConfig): Pool {
  const pool = new Pool(config);
  pool.on('error', logIdleConnectionLost);
  return pool;
}

/**
 * TypeORM's `driver` option: the `pg` module it would otherwise load, whose `Pool` is this pool,
 * so that TypeORM (migrations, the CLI's schema tools) opens no second one. TypeORM ends it when
 * its DataSource is destroyed; `endPool` tolerates that.
 */
export function typeOrmDriverOver(pool: Pool): {
  Pool: new () => Pool;
  defaults: typeof pg.defaults;
} {
  return {
    Pool: function SharedPool() {
      return pool;
    } as unknown as new () => Pool,
    defaults: pg.defaults,
  };
}

/** Closes the pool, unless it is closed already. */
export async function endPool(pool: Pool): Promise<void> {
  if (!pool.ended) await pool.end();
}

const logger = new Logger('Database');

/**
 * An idle pooled connection that the server closes (a restart, a failover, an idle timeout)
 * makes the pool emit `error`; unhandled, that event would end the process. The pool has already
 * dropped the connection and opens a new one when needed, so a warning is all it takes.
 */
export function logIdleConnectionLost(error: unknown): void {
  const errorCode = dependencyFailureReason(error) ?? (error as { code?: unknown } | null)?.code;
  logger.warn({ errorCode }, 'idle database connection lost');
}
