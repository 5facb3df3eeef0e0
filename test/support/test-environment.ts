/**
 * Where the tests find PostgreSQL and Redis. Override with TEST_DATABASE_URL (a server and a
 * database the tests may create databases from) and TEST_REDIS_URL.
 */
export const TEST_DATABASE_URL =
  process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
export const TEST_REDIS_URL = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';

/** A database migrated once per run; every test file clones it (CREATE DATABASE … TEMPLATE). */
export const TEMPLATE_DATABASE = 'sms_test_template';
export const TEST_DATABASE_PREFIX = 'sms_test_';

export function databaseUrl(database: string): string {
  const url = new URL(TEST_DATABASE_URL);
  url.pathname = `/${database}`;
  return url.toString();
}
