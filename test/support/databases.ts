import { randomBytes } from 'node:crypto';
import { Client } from 'pg';
import {
  TEST_DATABASE_PREFIX,
  templateDatabase,
  testRunId,
  TEST_DATABASE_URL,
  databaseUrl,
} from './test-environment';

/** One connection to `url` for `work`, closed after it. */
export async function withDatabase<T>(
  url: string,
  work: (client: Client) => Promise<T>,
): Promise<T> {
  const client = new Client({ connectionString: url });
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end();
  }
}

function withAdmin<T>(work: (client: Client) => Promise<T>): Promise<T> {
  return withDatabase(TEST_DATABASE_URL, work);
}

/** A fresh, migrated database for one test file, cloned from the template in a few ms. */
export async function createTestDatabase(): Promise<{ name: string; url: string }> {
  const name = `${TEST_DATABASE_PREFIX}${testRunId()}_${randomBytes(4).toString('hex')}`;
  await withAdmin(async (client) => {
    for (let attempt = 0; ; attempt += 1) {
      try {
        await client.query(`CREATE DATABASE "${name}" TEMPLATE "${templateDatabase()}"`);
        return;
      } catch (error) {
        // 55006: another clone is reading the template right now; wait and retry.
        if ((error as { code?: string }).code !== '55006' || attempt > 50) throw error;
        await new Promise((resolve) => setTimeout(resolve, 50 + Math.random() * 100));
      }
    }
  });
  return { name, url: databaseUrl(name) };
}

export async function dropTestDatabase(name: string): Promise<void> {
  await withAdmin((client) => client.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`));
}

export { withAdmin };

/** An empty database (no migrations), e.g. for ANALYTICS_DB_URL which migrates itself. */
export async function createEmptyDatabase(): Promise<{ name: string; url: string }> {
  const name = `${TEST_DATABASE_PREFIX}${testRunId()}_${randomBytes(4).toString('hex')}`;
  await withAdmin((client) => client.query(`CREATE DATABASE "${name}"`));
  return { name, url: databaseUrl(name) };
}
