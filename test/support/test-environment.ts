import { join, resolve } from 'node:path';

/**
 * Where the tests find PostgreSQL and Redis. Override with TEST_DATABASE_URL (a server and a
 * database the tests may create databases from) and TEST_REDIS_URL.
 */
export const TEST_DATABASE_URL =
  process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
export const TEST_REDIS_URL = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';

export const TEST_DATABASE_PREFIX = 'sms_test_';

/**
 * The test run that owns a database is part of its name (`sms_test_<run pid>_…`), so concurrent
 * runs against one PostgreSQL never drop each other's databases, and a crashed run's leftovers
 * are recognised by their dead pid. Global setup sets SMS_TEST_RUN for the workers.
 */
export function testRunId(): string {
  return process.env.SMS_TEST_RUN ?? String(process.pid);
}

/** A database migrated once per run; every test file clones it (CREATE DATABASE … TEMPLATE). */
export function templateDatabase(): string {
  return `${TEST_DATABASE_PREFIX}${testRunId()}_template`;
}

export function databaseUrl(database: string): string {
  const url = new URL(TEST_DATABASE_URL);
  url.pathname = `/${database}`;
  return url.toString();
}

export const PROJECT_ROOT = resolve(__dirname, '../..');

/**
 * Where global setup compiles the service for this run (`npm run build` into a directory of the
 * run's own, so concurrent runs never start a build another run is rewriting). It sits inside the
 * project, so the service finds node_modules, i18n/ and its other files as it does from dist/.
 */
export function serviceBuildDirectory(runId: string = testRunId()): string {
  return join(PROJECT_ROOT, 'test-output', 'builds', runId);
}
