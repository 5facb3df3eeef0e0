import { DataSource } from 'typeorm';
import { loadConfiguration } from '../../src/config/load-configuration';
import { typeOrmOptions } from '../../src/database/typeorm-options';
import { withAdmin } from './databases';
import { TEST_DATABASE_PREFIX, databaseUrl, templateDatabase } from './test-environment';

function processIsAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Builds this run's template database (all migrations, applied once) that every e2e test file
 * clones, after dropping what crashed runs left behind.
 */
export default async function globalSetup(): Promise<void> {
  process.env.SMS_TEST_RUN = String(process.pid);
  const template = templateDatabase();
  await withAdmin(async (client) => {
    const existing = await client.query<{ datname: string }>(
      `SELECT datname FROM pg_database WHERE datname LIKE $1`,
      [`${TEST_DATABASE_PREFIX}%`],
    );
    for (const { datname } of existing.rows) {
      const owner = Number(/^sms_test_(\d+)_/.exec(datname)?.[1]);
      if (Number.isInteger(owner) && owner !== process.pid && processIsAlive(owner)) continue;
      await client.query(`ALTER DATABASE "${datname}" IS_TEMPLATE false`).catch(() => undefined);
      await client.query(`DROP DATABASE IF EXISTS "${datname}" WITH (FORCE)`);
    }
    await client.query(`CREATE DATABASE "${template}"`);
  });

  const { database } = loadConfiguration({ NODE_ENV: 'test', DATABASE_URL: databaseUrl(template) });
  const dataSource = await new DataSource({
    ...typeOrmOptions(database),
    migrationsRun: false,
  }).initialize();
  try {
    await dataSource.runMigrations({ transaction: 'each' });
  } finally {
    await dataSource.destroy();
  }
  await withAdmin((client) => client.query(`ALTER DATABASE "${template}" IS_TEMPLATE true`));
}
