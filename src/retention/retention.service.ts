import {
  BeforeApplicationShutdown,
  Injectable,
  Logger,
  OnApplicationBootstrap,
} from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { AnalyticsDatabase } from '../analytics/analytics-database';
import { Clock } from '../common/clock';
import { RecurringJobs } from '../common/recurring-jobs';
import { RecurringTask } from '../common/recurring-task';
import { Configuration } from '../config/configuration';
import { Sql } from '../database/sql';
import { PostgresRateLimitStore } from '../rate-limit/store/postgres-rate-limit.store';
import { RateLimitStore } from '../rate-limit/store/rate-limit-store';
import { VERIFICATION_STATUSES } from '../sms/verification.entity';
import { RetentionConfig } from './retention.config';

const DAY_MS = 86_400_000;
const HOUR_MS = 3_600_000;
/** Any constant unique among this database's advisory locks (see EXPIRY_SWEEP_LOCK_KEY too). */
export const RETENTION_LOCK_KEY = 0x534d5352;

export const RETENTION_TABLES = [
  'sms_verifications',
  'refresh_tokens',
  'sms_holds',
  'sms_suppressions',
  'sms_rate_limits',
  'sms_events',
  'sms_event_rollups',
  'sms_response_time_rollups',
  'sms_messages',
  'sms_request_timings',
] as const;
export type RetentionTable = (typeof RETENTION_TABLES)[number];

export type RetentionRun =
  | {
      status: 'completed';
      deleted: Record<RetentionTable, number>;
      /** Tables whose purge failed this time (logged); the next run tries again. */
      failed: RetentionTable[];
      durationMs: number;
    }
  /** Another run holds the lock, on this instance or another one. */
  | { status: 'skipped' };

/**
 * One statement, one short transaction, at most `$1` rows: rows a request has locked right now
 * are skipped rather than waited for, and the next batch or run takes them.
 */
function batchDelete(table: string, key: string[], condition: string): string {
  const columns = key.join(', ');
  const tuple = key.length === 1 ? columns : `(${columns})`;
  return `WITH batch AS (
      SELECT ${columns} FROM ${table} WHERE ${condition} LIMIT $1 FOR UPDATE SKIP LOCKED
    ), removed AS (
      DELETE FROM ${table} WHERE ${tuple} IN (SELECT ${columns} FROM batch) RETURNING 1
    )
    SELECT count(*)::integer AS removed FROM removed`;
}

// Every status is listed so that the (status, expires_at) index serves the scan: a code that
// expired before the cutoff is over whatever its status says, a pending one included.
const ENDED_VERIFICATIONS = batchDelete(
  'sms_verifications',
  ['id'],
  `status = ANY($2::sms_verification_status[]) AND expires_at < $3`,
);
// A used token is kept until it has expired: presenting it again is what revokes a stolen
// family (refresh-token.service.ts), whenever that happens in its lifetime.
const EXPIRED_REFRESH_TOKENS = batchDelete('refresh_tokens', ['id'], `expires_at < $2`);
const REVOKED_REFRESH_TOKENS = batchDelete('refresh_tokens', ['id'], `revoked_at < $2`);
const ENDED_HOLDS = batchDelete('sms_holds', ['id'], `lifted_at < $2 OR expires_at < $2`);
const EXPIRED_SUPPRESSIONS = batchDelete('sms_suppressions', ['phone_hash'], `expires_at <= $2`);
const OLD_EVENTS = batchDelete('sms_events', ['id'], `occurred_at < $2`);
const OLD_ROLLUPS = batchDelete(
  'sms_event_rollups',
  ['bucket', 'country_code', 'purpose', 'status'],
  `bucket <= $2`,
);
const OLD_RESPONSE_TIME_ROLLUPS = batchDelete(
  'sms_response_time_rollups',
  ['bucket', 'country_code', 'purpose'],
  `bucket <= $2`,
);
const OLD_MESSAGES = batchDelete('sms_messages', ['sid'], `created_at < $2`);
const OLD_REQUEST_TIMINGS = batchDelete('sms_request_timings', ['minute', 'route'], `minute < $2`);
/**
 * Per-minute request timings serve the response-time alert (the last hour) and a look back at an
 * incident; the reports' response times live in the hourly rollups.
 */
export const REQUEST_TIMINGS_RETENTION_DAYS = 7;

/** One kind of row past its retention; `deleteBatch` removes up to `limit` and says how many. */
interface Purge {
  table: RetentionTable;
  deleteBatch(limit: number): Promise<number>;
}

/**
 * Deletes what is kept no longer than SMS_VERIFICATION_RETENTION_DAYS and
 * ANALYTICS_RETENTION_DAYS every RETENTION_INTERVAL_MS, on one instance at a time, in batches of
 * RETENTION_BATCH_SIZE so that no table is locked and the request path never waits for it.
 * Analytics tables are purged where they live (ANALYTICS_DB_URL or the main database).
 */
@Injectable()
export class RetentionService implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly logger = new Logger('Retention');
  private readonly config: RetentionConfig;
  private readonly task: RecurringTask;
  private current?: Promise<RetentionRun>;
  /** Why the last run could not purge a table. */
  private firstFailure?: unknown;
  private stopping = false;

  constructor(
    private readonly sql: Sql,
    private readonly analytics: AnalyticsDatabase,
    private readonly rateLimits: RateLimitStore,
    private readonly clock: Clock,
    config: ConfigService<Configuration, true>,
    jobs: RecurringJobs,
  ) {
    this.config = config.get('retention', { infer: true });
    this.task = jobs.create(
      { name: 'retention', intervalMs: this.config.intervalMs },
      () => this.scheduledRun(),
      this.logger,
    );
  }

  onApplicationBootstrap(): void {
    this.task.start();
  }

  /** A run that could not purge some table counts as failed, so the task logs why and backs off. */
  private async scheduledRun(): Promise<void> {
    const run = await this.runOnce();
    if (run.status === 'completed' && run.failed.length > 0) throw this.firstFailure;
  }

  /** One purge of everything past its retention, unless a run is already going on somewhere. */
  runOnce(): Promise<RetentionRun> {
    if (this.current || this.stopping) return Promise.resolve({ status: 'skipped' });
    const run = this.run().finally(() => {
      this.current = undefined;
    });
    this.current = run;
    return run;
  }

  private async run(): Promise<RetentionRun> {
    const run = await this.sql.withAdvisoryLock(RETENTION_LOCK_KEY, 'sms-retention', () =>
      this.purgeAll(),
    );
    if (run.ran) return run.result;
    this.logger.debug('retention skipped: another instance is running it');
    return { status: 'skipped' };
  }

  private async purgeAll(): Promise<RetentionRun> {
    const started = performance.now();
    const deleted = Object.fromEntries(RETENTION_TABLES.map((table) => [table, 0])) as Record<
      RetentionTable,
      number
    >;
    const failed: RetentionTable[] = [];
    this.firstFailure = undefined;
    for (const purge of this.purges(this.clock.now())) {
      if (this.stopping) break;
      try {
        for (;;) {
          const removed = await purge.deleteBatch(this.config.batchSize);
          deleted[purge.table] += removed;
          if (removed < this.config.batchSize || this.stopping) break;
        }
      } catch (error) {
        // Logged by the task (once per cause), or by whoever asked for this run.
        if (!failed.includes(purge.table)) failed.push(purge.table);
        this.firstFailure ??= error;
      }
    }
    const durationMs = Math.round(performance.now() - started);
    const total = Object.values(deleted).reduce((sum, count) => sum + count, 0);
    this.logger.log(
      { retention: { deleted, failed, durationMs } },
      `retention: deleted ${total} rows in ${durationMs} ms`,
    );
    return { status: 'completed', deleted, failed, durationMs };
  }

  /** The main database's tables first: they are the ones the request path writes. */
  private purges(now: Date): Purge[] {
    const verificationCutoff = new Date(
      now.getTime() - this.config.verificationRetentionDays * DAY_MS,
    );
    const analyticsCutoff = new Date(now.getTime() - this.config.analyticsRetentionDays * DAY_MS);
    // An hourly bucket goes once the whole of its hour is older than the cutoff.
    const lastOldBucket = new Date(analyticsCutoff.getTime() - HOUR_MS);
    const main = (table: RetentionTable, text: string, values: unknown[]): Purge => ({
      table,
      deleteBatch: (limit) =>
        removedBy(this.sql.rows<{ removed: number }>(text, [limit, ...values])),
    });
    const analytics = (table: RetentionTable, text: string, values: unknown[]): Purge => ({
      table,
      deleteBatch: (limit) =>
        removedBy(this.analytics.rows<{ removed: number }>(text, [limit, ...values])),
    });
    const store = this.rateLimits;
    return [
      main('sms_verifications', ENDED_VERIFICATIONS, [VERIFICATION_STATUSES, verificationCutoff]),
      main('refresh_tokens', EXPIRED_REFRESH_TOKENS, [verificationCutoff]),
      main('refresh_tokens', REVOKED_REFRESH_TOKENS, [verificationCutoff]),
      main('sms_holds', ENDED_HOLDS, [verificationCutoff]),
      main('sms_suppressions', EXPIRED_SUPPRESSIONS, [now]),
      // Only the PostgreSQL store writes sms_rate_limits.
      ...(store instanceof PostgresRateLimitStore
        ? [
            {
              table: 'sms_rate_limits' as const,
              deleteBatch: (limit: number) => store.removeExpired(now.getTime(), limit),
            },
          ]
        : []),
      analytics('sms_events', OLD_EVENTS, [analyticsCutoff]),
      analytics('sms_event_rollups', OLD_ROLLUPS, [lastOldBucket]),
      analytics('sms_response_time_rollups', OLD_RESPONSE_TIME_ROLLUPS, [lastOldBucket]),
      analytics('sms_messages', OLD_MESSAGES, [analyticsCutoff]),
      analytics('sms_request_timings', OLD_REQUEST_TIMINGS, [
        new Date(now.getTime() - REQUEST_TIMINGS_RETENTION_DAYS * DAY_MS),
      ]),
    ];
  }

  /** Lets a run in progress finish its current batch, before the pools close. */
  async beforeApplicationShutdown(): Promise<void> {
    this.stopping = true;
    await this.task.stop();
    await this.current?.catch(() => undefined);
  }
}

async function removedBy(rows: Promise<{ removed: number }[]>): Promise<number> {
  const [{ removed }] = await rows;
  return removed;
}
