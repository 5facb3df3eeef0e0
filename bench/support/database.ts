import { Client } from 'pg';

/** A server and database the benchmark may create databases from (trust auth here). */
export const ADMIN_DATABASE_URL =
  process.env.BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';

export const BENCH_DATABASE_PREFIX = 'sms_bench_';

export function databaseUrl(name: string): string {
  const url = new URL(ADMIN_DATABASE_URL);
  url.pathname = `/${name}`;
  return url.toString();
}

export async function withClient<T>(url: string, work: (client: Client) => Promise<T>): Promise<T> {
  const client = new Client({ connectionString: url });
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end();
  }
}

export async function createDatabase(name: string): Promise<string> {
  await withClient(ADMIN_DATABASE_URL, (client) => client.query(`CREATE DATABASE "${name}"`));
  return databaseUrl(name);
}

export async function dropDatabase(name: string): Promise<void> {
  await withClient(ADMIN_DATABASE_URL, (client) =>
    client.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`),
  );
}

/**
 * Databases of benchmark runs that died without cleaning up (`sms_bench_<pid>_…` whose process is
 * gone); a run still in progress on this machine keeps its own.
 */
export async function dropAbandonedDatabases(): Promise<string[]> {
  return withClient(ADMIN_DATABASE_URL, async (client) => {
    const { rows } = await client.query<{ datname: string }>(
      `SELECT datname FROM pg_database WHERE datname LIKE $1`,
      [`${BENCH_DATABASE_PREFIX}%`],
    );
    const dropped: string[] = [];
    for (const { datname } of rows) {
      const owner = Number(new RegExp(`^${BENCH_DATABASE_PREFIX}(\\d+)_`).exec(datname)?.[1]);
      if (Number.isInteger(owner) && isAlive(owner)) continue;
      await client.query(`DROP DATABASE IF EXISTS "${datname}" WITH (FORCE)`);
      dropped.push(datname);
    }
    return dropped;
  });
}

export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

export interface DatabaseStats {
  xactCommit: number;
  tuplesInserted: number;
  tuplesUpdated: number;
  tuplesDeleted: number;
  /** Blocks found in shared_buffers, and blocks read from the OS (page cache or disk). */
  blocksHit: number;
  blocksRead: number;
}

/** Counters of `database`, read from another database so the reads do not count themselves. */
export async function databaseStats(admin: Client, database: string): Promise<DatabaseStats> {
  const { rows } = await admin.query<Record<string, string>>(
    `SELECT xact_commit, tup_inserted, tup_updated, tup_deleted, blks_hit, blks_read
       FROM pg_stat_database WHERE datname = $1`,
    [database],
  );
  return {
    xactCommit: Number(rows[0].xact_commit),
    tuplesInserted: Number(rows[0].tup_inserted),
    tuplesUpdated: Number(rows[0].tup_updated),
    tuplesDeleted: Number(rows[0].tup_deleted),
    blocksHit: Number(rows[0].blks_hit),
    blocksRead: Number(rows[0].blks_read),
  };
}

/** The next transaction id PostgreSQL will assign (low 32 bits, as stored in xmin). */
export async function nextXid(client: Client): Promise<number> {
  const { rows } = await client.query<{ xid: string }>(
    `SELECT (pg_snapshot_xmax(pg_current_snapshot())::text::bigint % 4294967296) AS xid`,
  );
  return Number(rows[0].xid);
}

/**
 * Rows of each table whose current version was written by a transaction at or after `fromXid`:
 * exact, and visible at once, unlike pg_stat_* counters, which backends flush up to 10 s late.
 */
export async function rowsWrittenSince(
  client: Client,
  fromXid: number,
): Promise<Record<string, number>> {
  const { rows: tables } = await client.query<{ table_name: string }>(
    `SELECT table_name FROM information_schema.tables
      WHERE table_schema = 'public' AND table_type = 'BASE TABLE' ORDER BY table_name`,
  );
  const written: Record<string, number> = {};
  for (const { table_name: table } of tables) {
    const { rows } = await client.query<{ count: string }>(
      `SELECT count(*) AS count FROM "${table}" WHERE xmin::text::bigint >= $1`,
      [fromXid],
    );
    const count = Number(rows[0].count);
    if (count > 0) written[table] = count;
  }
  return written;
}
