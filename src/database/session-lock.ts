import { Client } from 'pg';

/**
 * A PostgreSQL session-level advisory lock, on a connection of its own rather than a pooled one:
 * holding it never holds back the pool (the embedded database's has a single connection), and a
 * crashed instance's lock goes with its connection. Which instance runs a periodic job (the
 * expiry sweep, retention, the alert evaluator) is the one that holds its lock.
 */
export class SessionLock {
  private client?: Client;

  /**
   * `url` undefined: the embedded database, which only one process can open anyway (the lock is
   * always this instance's). `key`: any constant unique among this database's advisory locks.
   */
  constructor(
    private readonly url: string | undefined,
    private readonly key: number,
    private readonly applicationName: string,
  ) {}

  /**
   * Whether this instance holds the lock now, taking it when it is free. A lock already held is
   * checked on its connection first: a lost connection took it, and it is taken again if it can
   * be. Throws when the database cannot be reached.
   */
  async acquire(): Promise<boolean> {
    if (!this.url) return true;
    if (this.client) {
      try {
        await this.client.query('SELECT 1');
        return true;
      } catch {
        await this.release();
      }
    }
    const client = new Client({
      connectionString: this.url,
      application_name: this.applicationName,
      connectionTimeoutMillis: 3_000,
      // Checking a held lock must not wait for a server that stopped answering.
      query_timeout: 5_000,
      keepAlive: true,
    });
    // A lost connection drops the lock; whoever holds it finds out at the next acquire().
    client.on('error', () => undefined);
    try {
      await client.connect();
      const { rows } = await client.query<{ locked: boolean }>(
        'SELECT pg_try_advisory_lock($1) AS locked',
        [this.key],
      );
      if (rows[0]?.locked) {
        this.client = client;
        return true;
      }
    } catch (error) {
      await client.end().catch(() => undefined);
      throw error;
    }
    await client.end().catch(() => undefined);
    return false;
  }

  async release(): Promise<void> {
    const client = this.client;
    this.client = undefined;
    await client?.end().catch(() => undefined);
  }
}
