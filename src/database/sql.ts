import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import type { Pool } from 'pg';
import { DataSource } from 'typeorm';

/**
 * Plain parameterized SQL on TypeORM's own connection pool, for the atomic single-statement
 * updates the hot paths rely on (`UPDATE … RETURNING`). TypeORM's `query()` answers UPDATE with
 * `[rows, count]` and SELECT with `rows`; this always answers the rows.
 */
@Injectable()
export class Sql {
  constructor(@InjectDataSource() private readonly dataSource: DataSource) {}

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

  private get pool(): Pool {
    return (this.dataSource.driver as unknown as { master: Pool }).master;
  }
}
