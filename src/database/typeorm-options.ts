import type { Pool } from 'pg';
import { DataSourceOptions } from 'typeorm';
import { ALL_MIGRATIONS } from '../../migrations';
import { DatabaseConfig } from './database.config';
import { logIdleConnectionLost, poolConfig, typeOrmDriverOver } from './database-pool';

/**
 * One place that turns configuration into TypeORM options, used by the app, the migration CLI
 * and the tests alike. `synchronize` is always off: the schema changes only through migrations.
 * No entities: each module registers its own (TypeOrmModule.forFeature; the app loads them with
 * autoLoadEntities), and the CLI finds them by file name (data-source.ts).
 *
 * With `pool` (the app) TypeORM works on the service's one pool (database-pool.ts); without it
 * (the CLI, test setup) it opens a pool of its own with the same settings.
 */
export function typeOrmOptions(database: DatabaseConfig, pool?: Pool): DataSourceOptions {
  const connection = pool
    ? { driver: typeOrmDriverOver(pool) }
    : {
        url: database.url,
        // pg reads the URL itself as well: TypeORM's own parser keeps a percent-encoded host
        // and drops `?host=`, so a URL naming a unix socket directory went to localhost:5432.
        extra: poolConfig(database),
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
    // A shared pool's owner logs a lost idle connection already (createDatabasePool).
    poolErrorHandler: pool ? () => undefined : logIdleConnectionLost,
  };
}
