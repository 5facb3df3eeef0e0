import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import type { Pool, PoolClient } from 'pg';
import { DataSource } from 'typeorm';
import type { PostgresDataSourceOptions } from 'typeorm/driver/postgres/PostgresDataSourceOptions';
import { SessionLock } from './session-lock';

/** Statements inside one transaction (Sql.transaction). */
export interface SqlTransaction {
  rows<T>(text: string, values?: unknown[]): Promise<T[]>;
}

/** A job run under an advisory lock (Sql.withAdvisoryLock), or skipped while another holds it. */
export type LockedRun<T> = { ran: true; result: T } | { ran: false };

/**
 * Plain parameterized SQL on the one PostgreSQL pool of the service, for the repositories. TypeORM
 * owns the pool (it runs the migrations and knows the entities); every statement of the service
 * goes through here. TypeORM's `query()` answers UPDATE with `[rows, count]` and SELECT with
 * `rows`; this always answers the rows.
 */
@Injectable()
export class Sql {
  private readonly url: string | undefined;

  constructor(@InjectDataSource() private readonly dataSource: DataSource) {
    this.url = (dataSource.options as PostgresDataSourceOptions).url;
  }

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

  /** TypeORM's pg pool (PostgresDriver.master, declared public in its typings). */
  private get pool(): Pool {
    return (this.dataSource.driver as unknown as { master: Pool }).master;
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
