import { resolve } from 'node:path';
import { DatabaseEnvironment } from './database.environment';

export interface DatabaseConfig {
  /** PostgreSQL URL; undefined means the embedded PGlite database in `dataDir`. */
  url?: string;
  poolSize: number;
  statementTimeoutMs: number;
  migrationsRun: boolean;
  dataDir: string;
}

export function databaseConfigFromEnvironment(environment: DatabaseEnvironment): DatabaseConfig {
  return {
    url: environment.DATABASE_URL,
    poolSize: environment.DATABASE_POOL_SIZE,
    statementTimeoutMs: environment.DATABASE_STATEMENT_TIMEOUT_MS,
    migrationsRun: environment.DATABASE_MIGRATIONS_RUN,
    dataDir: resolve(environment.DATA_DIR),
  };
}
