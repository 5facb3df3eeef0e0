import { Client } from 'pg';

/**
 * Which instance runs a periodic job (retention, the expiry sweep): the one holding a PostgreSQL
 * session-level advisory lock for the length of a run. The lock lives on a connection of its own
 * rather than a pooled one, so a run never holds back a pool (the embedded database's has a
 * single connection) and a crashed instance's lock goes with its connection.
 */
export class AdvisoryLock {
  /**
   * `url` undefined: the embedded database, which only one process can open anyway.
   * `key`: any constant unique among this database's advisory locks.
   */
  constructor(
    private readonly url: string | undefined,
    private readonly key: number,
    private readonly applicationName: string,
  ) {}

  /** A function that releases the lock, or undefined when another instance holds it. */
  async tryAcquire(): Promise<(() => Promise<void>) | undefined> {
    if (!this.url) return async () => undefined;
    const client = new Client({
      connectionString: this.url,
      application_name: this.applicationName,
      connectionTimeoutMillis: 3_000,
      query_timeout: 5_000,
    });
    // A lost connection drops the lock; the run itself goes on through the pool and finishes.
    client.on('error', () => undefined);
    try {
      await client.connect();
      const { rows } = await client.query<{ locked: boolean }>(
        'SELECT pg_try_advisory_lock($1) AS locked',
        [this.key],
      );
      if (rows[0]?.locked) return () => client.end().catch(() => undefined);
    } catch (error) {
      await client.end().catch(() => undefined);
      throw error;
    }
    await client.end().catch(() => undefined);
    return undefined;
  }
}
