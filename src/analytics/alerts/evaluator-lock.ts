import { Logger } from '@nestjs/common';
import { Client } from 'pg';

/**
 * Which instance evaluates alerts: the one holding a PostgreSQL session-level advisory lock, on a
 * connection of its own kept for as long as it is the evaluator. Holding it across evaluations
 * (not only during one) keeps the rules on instance-local data, like webhook failures, from
 * flapping as evaluation moves between instances; when the instance dies, PostgreSQL drops the
 * lock with its connection and another one takes over at its next evaluation.
 */
export class EvaluatorLock {
  private readonly logger = new Logger('AlertEvaluator');
  private client?: Client;

  /** `url` undefined: the embedded database, which only one process can open anyway. */
  constructor(
    private readonly url: string | undefined,
    private readonly key: number,
  ) {}

  /**
   * Whether this instance is (or has just become) the evaluator. Throws when the database cannot
   * be reached: the evaluation fails and is retried with back-off (RecurringTask).
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
      application_name: 'sms-alert-evaluator',
      connectionTimeoutMillis: 3_000,
      // The check of a held lock must not wait for a server that stopped answering.
      query_timeout: 5_000,
      keepAlive: true,
    });
    // A lost connection took the lock with it; the next acquire() finds out and reconnects.
    client.on('error', () => undefined);
    try {
      await client.connect();
      const { rows } = await client.query<{ locked: boolean }>(
        'SELECT pg_try_advisory_lock($1) AS locked',
        [this.key],
      );
      if (rows[0]?.locked) {
        this.client = client;
        this.logger.log('this instance evaluates the alert rules');
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
