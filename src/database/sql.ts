import type { Pool, PoolClient } from 'pg';
import { SessionLock } from './session-lock';

/** Statements inside one transaction (Sql.transaction). */
export interface SqlTransaction {
  rows<T>(text: string, values?: unknown[]): Promise<T[]>;
}

/** A job run under an advisory lock (Sql.withAdvisoryLock), or skipped while another holds it. */
export type LockedRun<T> = { ran: true; result: T } | { ran: false };

/**
 * Plain parameterized SQL on the service's one PostgreSQL pool (database-pool.ts), for the
 * repositories: every statement of the service goes through here. Provided by DatabaseModule.
 */
export class Sql {
  /**
   * `url`: the database's, for the advisory locks' own connections (SessionLock); undefined for
   * the embedded database.
   */
  constructor(
    private readonly pool: Pool,
    private readonly url: string | undefined,
  ) {}

  async rows<T>(text: string, values: unknown[] = []): Promise<T[]> {
    const result = await this.pool.query(text, values);
    return result.rows as T[];
  }

  /**
   * As rows(), as a named prepared statement: each connection parses and plans `text` once
   * instead of on every call, which is a good part of PostgreSQL's work for a one-row statement.
   * For the hot paths' statements; `name` must stand for this one text everywhere.
   */
  async prepared<T>(name: string, text: string, values: unknown[]): Promise<T[]> {
    const result = await this.pool.query({ name, text, values });
    return result.rows as T[];
  }

  /**
   * `work` in one transaction on one pooled connection: committed when it resolves, rolled back
   * when it throws (the error is rethrown). A connection that cannot even roll back is discarded.
   */
  async transaction<T>(work: (transaction: SqlTransaction) => Promise<T>): Promise<T> {
    const client = await this.pool.connect();
    let broken: Error | undefined;
    try {
      await client.query('BEGIN');
      const result = await work(inTransaction(client));
      await client.query('COMMIT');
      return result;
    } catch (error) {
      await client.query('ROLLBACK').catch((rollbackFailed: Error) => {
        broken = rollbackFailed;
      });
      throw error;
    } finally {
      client.release(broken);
    }
  }

  /**
   * Runs `work` if this instance gets the advisory lock `key` (see SessionLock), and releases it
   * after; skipped while another run, here or on another instance, holds it.
   */
  async withAdvisoryLock<T>(
    key: number,
    name: string,
    work: () => Promise<T>,
  ): Promise<LockedRun<T>> {
    const lock = this.sessionLock(key, name);
    if (!(await lock.acquire())) return { ran: false };
    try {
      return { ran: true, result: await work() };
    } finally {
      await lock.release();
    }
  }

  /** An advisory lock to hold for longer than one run (the alert evaluator's). */
  sessionLock(key: number, name: string): SessionLock {
    return new SessionLock(this.url, key, name);
  }
}

function inTransaction(client: PoolClient): SqlTransaction {
  return {
    async rows<T>(text: string, values: unknown[] = []): Promise<T[]> {
      const result = await client.query(text, values);
      return result.rows as T[];
    },
  };
}
