import { execFile } from 'node:child_process';
import { existsSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { DataSource } from 'typeorm';
import { loadConfiguration } from '../../src/config/load-configuration';
import { typeOrmOptions } from '../../src/database/typeorm-options';
import { withAdmin } from './databases';
import {
  PROJECT_ROOT,
  TEST_DATABASE_PREFIX,
  databaseUrl,
  serviceBuildDirectory,
  templateDatabase,
} from './test-environment';

function processIsAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Compiles the service once for the whole run, for the tests that start it as a process
 * (service-process.ts): test files building it themselves would rewrite the files another file's
 * process is loading. Each run builds into a directory of its own, for the same reason across
 * concurrent runs; builds of runs that no longer exist are removed.
 */
async function buildService(): Promise<void> {
  const builds = join(PROJECT_ROOT, 'test-output', 'builds');
  if (existsSync(builds)) {
    for (const owner of readdirSync(builds)) {
      if (/^\d+$/.test(owner) && owner !== String(process.pid) && processIsAlive(Number(owner))) {
        continue;
      }
      rmSync(join(builds, owner), { recursive: true, force: true });
    }
  }
  try {
    await promisify(execFile)('npm', ['run', 'build', '--', '--outDir', serviceBuildDirectory()], {
      cwd: PROJECT_ROOT,
      timeout: 180_000,
    });
  } catch (error) {
    const { stdout, stderr } = error as { stdout?: string; stderr?: string };
    throw new Error(
      `e2e global setup: \`npm run build\` failed, so the service cannot be started as a process ` +
        `(test/support/service-process.ts). Fix the compile errors below.\n${stdout ?? ''}\n${stderr ?? ''}`,
    );
  }
}

/**
 * Compiles the service (buildService) and builds this run's template database (all migrations,
 * applied once) that every e2e test file clones, after dropping what crashed runs left behind.
 */
export default async function globalSetup(): Promise<void> {
  process.env.SMS_TEST_RUN = String(process.pid);
  // Compiling takes seconds of CPU; it runs while the template database is migrated.
  const build = buildService();
  build.catch(() => undefined);
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
  await build;
}
