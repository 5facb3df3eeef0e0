import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { DataSource } from 'typeorm';
import { loadConfiguration } from '../config/load-configuration';
import { typeOrmOptions } from './typeorm-options';

/**
 * The data source of the TypeORM CLI (`npm run migration:run|revert|generate`). It reads the same
 * validated configuration as the app; the CLI needs a PostgreSQL DATABASE_URL.
 */
if (existsSync('.env')) process.loadEnvFile('.env');
const { database } = loadConfiguration(process.env);
if (!database.url) {
  throw new Error(
    'The migration CLI needs DATABASE_URL (the embedded database applies migrations at boot).',
  );
}

export default new DataSource({
  ...typeOrmOptions(database),
  // Every module's entities, for migration:generate: each lives in a `*.entity.ts` file.
  entities: [join(__dirname, '..', '**', '*.entity.js')],
  migrationsRun: false,
});
