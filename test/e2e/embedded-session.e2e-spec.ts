import { Pool } from 'pg';
import { EMBEDDED_POOL_OPTIONS, EmbeddedPostgres } from '../../src/database/embedded-postgres';
import { BOOT_TIMEOUT_MS, ServiceProcesses } from '../support/service-process';

/**
 * The embedded database is one PGlite session behind a socket: whatever a closed connection left
 * in it (prepared statements, settings) is still there for the next one. A connection that
 * replaces a broken one must start clean, or the hot paths' named statements fail to prepare.
 */

const services = new ServiceProcesses();
let embedded: EmbeddedPostgres;
let pool: Pool;

beforeAll(
  async () => {
    embedded = new EmbeddedPostgres(await services.preparedDataDirectory('embedded-session'));
    const connection = await embedded.start();
    pool = new Pool({
      host: connection.host,
      port: connection.port,
      user: connection.username,
      database: connection.database,
      ...EMBEDDED_POOL_OPTIONS,
    });
  },
  2 * BOOT_TIMEOUT_MS + 30_000,
);

afterAll(async () => {
  await pool?.end();
  await embedded?.stop();
  await services.cleanUp();
});

const statement = { name: 'embedded-session-check', text: 'SELECT $1::int + 1 AS next' };

describe('The embedded database after its connection is replaced', () => {
  it('prepares the same named statement again on the new connection', async () => {
    expect((await pool.query({ ...statement, values: [1] })).rows).toEqual([{ next: 2 }]);

    // What an error does to the pooled connection: it is destroyed, and a new one is opened.
    const client = await pool.connect();
    client.release(true);

    expect((await pool.query({ ...statement, values: [41] })).rows).toEqual([{ next: 42 }]);
  });

  it('drops settings a previous connection changed', async () => {
    const client = await pool.connect();
    await client.query(`SET statement_timeout = '1ms'`);
    client.release(true);

    const { rows } = await pool.query<{ statement_timeout: string }>('SHOW statement_timeout');
    expect(rows).toEqual([{ statement_timeout: '0' }]);
  });
});
