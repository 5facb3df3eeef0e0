import { Sql } from './sql';

/** A purge statement of one kind of row (see batchDelete). */
export interface BatchDelete {
  /**
   * Deletes up to `limit` rows and says how many; `values` are the condition's parameters, $2 on
   * (the main database's Sql, or any database answering rows() the same way).
   */
  run(database: Pick<Sql, 'rows'>, limit: number, ...values: unknown[]): Promise<number>;
}

/**
 * The statement retention purges a table with, a batch at a time: one statement, one short
 * transaction, at most `$1` rows matching `condition` (keyed by `key`). Rows a request has locked
 * right now are skipped rather than waited for, and the next batch or run takes them.
 */
export function batchDelete(table: string, key: string[], condition: string): BatchDelete {
  const columns = key.join(', ');
  const tuple = key.length === 1 ? columns : `(${columns})`;
  const text = `WITH batch AS (
      SELECT ${columns} FROM ${table} WHERE ${condition} LIMIT $1 FOR UPDATE SKIP LOCKED
    ), removed AS (
      DELETE FROM ${table} WHERE ${tuple} IN (SELECT ${columns} FROM batch) RETURNING 1
    )
    SELECT count(*)::integer AS removed FROM removed`;
  return {
    async run(database, limit, ...values) {
      const [{ removed }] = await database.rows<{ removed: number }>(text, [limit, ...values]);
      return removed;
    },
  };
}
