import { RetentionPurge } from '../../retention/retention-purges';
import { PostgresRateLimitStore } from './postgres-rate-limit.store';
import { RateLimitStore } from './rate-limit-store';

/**
 * What retention deletes of `sms_rate_limits`: counters once they have expired. Only the
 * PostgreSQL store writes the table; with another store there is nothing to delete, and the table
 * still has its line (0) in a run's report.
 */
export function rateLimitRetention(store: RateLimitStore): RetentionPurge {
  return {
    table: 'sms_rate_limits',
    database: 'main',
    keptFor: { days: 0 },
    deleteBatch: async (limit, cutoff) =>
      store instanceof PostgresRateLimitStore ? store.removeExpired(cutoff.getTime(), limit) : 0,
  };
}
