import { Logger } from '@nestjs/common';
import { DataSourceOptions } from 'typeorm';
import { dependencyFailureReason } from '../common/errors/dependency-failure';
import { ALL_MIGRATIONS } from '../../migrations';
import { DatabaseConfig } from './database.config';
import { EMBEDDED_POOL_OPTIONS, EmbeddedConnection } from './embedded-postgres';

/**
 * One place that turns configuration into TypeORM options, used by the app, the migration CLI
 * and the tests alike. `synchronize` is always off: the schema changes only through migrations.
 * No entities: each module registers its own (TypeOrmModule.forFeature; the app loads them with
 * autoLoadEntities), and the CLI finds them by file name (data-source.ts).
 */
export function typeOrmOptions(
  database: DatabaseConfig,
  embedded?: EmbeddedConnection,
): DataSourceOptions {
  const connection = embedded
    ? { ...embedded, extra: EMBEDDED_POOL_OPTIONS }
    : {
        url: database.url,
        extra: {
          // pg reads the URL itself as well: TypeORM's own parser keeps a percent-encoded host
          // and drops `?host=`, so a URL naming a unix socket directory went to localhost:5432.
          connectionString: database.url,
          max: database.poolSize,
          connectionTimeoutMillis: 3_000,
          idleTimeoutMillis: 30_000,
          statement_timeout: database.statementTimeoutMs,
          application_name: 'sms-verification',
        },
      };
  return {
    type: 'postgres',
    ...connection,
    migrations: ALL_MIGRATIONS,
    migrationsRun: database.migrationsRun,
    migrationsTransactionMode: 'each',
    synchronize: false,
    uuidExtension: 'pgcrypto',
    installExtensions: false,
    logging: ['error'],
    poolErrorHandler: logIdleConnectionLost,
  };
}

const logger = new Logger('Database');

/**
 * An idle pooled connection that the server closes (a restart, a failover, an idle timeout)
 * makes the pool emit `error`; unhandled, that event would end the process. The pool has already
 * dropped the connection and opens a new one when needed, so a warning is all it takes.
 */
function logIdleConnectionLost(error: unknown): void {
  const errorCode = dependencyFailureReason(error) ?? (error as { code?: unknown } | null)?.code;
  logger.warn({ errorCode }, 'idle database connection lost');
}
