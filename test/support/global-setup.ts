import { DataSource } from 'typeorm';
import { loadConfiguration } from '../../src/config/load-configuration';
import { typeOrmOptions } from '../../src/database/typeorm-options';
import { withAdmin } from './databases';
import { TEMPLATE_DATABASE, TEST_DATABASE_PREFIX, databaseUrl } from './test-environment';

/** Builds the template database every e2e test file clones: all migrations, applied once. */
export default async function globalSetup(): Promise<void> {
  await withAdmin(async (client) => {
    const stale = await client.query<{ datname: string }>(
      `SELECT datname FROM pg_database WHERE datname LIKE $1`,
      [`${TEST_DATABASE_PREFIX}%`],
    );
    for (const { datname } of stale.rows) {
      await client.query(`ALTER DATABASE "${datname}" IS_TEMPLATE false`).catch(() => undefined);
      await client.query(`DROP DATABASE IF EXISTS "${datname}" WITH (FORCE)`);
    }
    await client.query(`CREATE DATABASE "${TEMPLATE_DATABASE}"`);
  });

  const { database } = loadConfiguration({
    NODE_ENV: 'test',
    DATABASE_URL: databaseUrl(TEMPLATE_DATABASE),
  });
  const dataSource = await new DataSource({
    ...typeOrmOptions(database),
    migrationsRun: false,
  }).initialize();
  try {
    await dataSource.runMigrations({ transaction: 'each' });
  } finally {
    await dataSource.destroy();
  }
  await withAdmin((client) =>
    client.query(`ALTER DATABASE "${TEMPLATE_DATABASE}" IS_TEMPLATE true`),
  );
}
