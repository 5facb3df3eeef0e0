import { withAdmin } from './databases';
import { templateDatabase } from './test-environment';

/** Drops this run's template; each test file drops its own clone. */
export default async function globalTeardown(): Promise<void> {
  const template = templateDatabase();
  await withAdmin(async (client) => {
    await client.query(`ALTER DATABASE "${template}" IS_TEMPLATE false`).catch(() => undefined);
    await client.query(`DROP DATABASE IF EXISTS "${template}" WITH (FORCE)`);
  });
}
