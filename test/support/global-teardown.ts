import { rmSync } from 'node:fs';
import { withAdmin } from './databases';
import { serviceBuildDirectory, templateDatabase } from './test-environment';

/** Drops this run's template and its build of the service; each test file drops its own clone. */
export default async function globalTeardown(): Promise<void> {
  rmSync(serviceBuildDirectory(), { recursive: true, force: true });
  const template = templateDatabase();
  await withAdmin(async (client) => {
    await client.query(`ALTER DATABASE "${template}" IS_TEMPLATE false`).catch(() => undefined);
    await client.query(`DROP DATABASE IF EXISTS "${template}" WITH (FORCE)`);
  });
}
