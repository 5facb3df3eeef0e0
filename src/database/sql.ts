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
    const pool = this.dataSource.driver as unknown as { master: Pool };
    const result = await pool.master.query(text, values);
    return result.rows as T[];
  }
}
