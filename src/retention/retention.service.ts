import {
  BeforeApplicationShutdown,
  Injectable,
  Logger,
  OnApplicationBootstrap,
} from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { Clock } from '../common/clock';
import { RecurringJobs } from '../common/recurring-jobs';
import { RecurringTask } from '../common/recurring-task';
import { Configuration } from '../config/configuration';
import { Sql } from '../database/sql';
import { RetentionConfig } from './retention.config';
import { RetentionPeriod, RetentionPurge, RetentionPurges } from './retention-purges';

const DAY_MS = 86_400_000;
/** Any constant unique among this database's advisory locks (see EXPIRY_SWEEP_LOCK_KEY too). */
export const RETENTION_LOCK_KEY = 0x534d5352;

/** A purged table's name, as its module registered it (RetentionPurge.table). */
export type RetentionTable = RetentionPurge['table'];

export type RetentionRun =
  | {
      status: 'completed';
      /** Rows deleted per registered table. */
      deleted: Record<RetentionTable, number>;
      /** Tables whose purge failed this time (logged); the next run tries again. */
      failed: RetentionTable[];
      durationMs: number;
    }
  /** Another run holds the lock, on this instance or another one. */
  | { status: 'skipped' };

/**
 * Deletes what is kept no longer than SMS_VERIFICATION_RETENTION_DAYS and
 * ANALYTICS_RETENTION_DAYS every RETENTION_INTERVAL_MS, on one instance at a time, in batches of
 * RETENTION_BATCH_SIZE so that no table is locked and the request path never waits for it. What
 * to delete is the modules' own business: each registers the purges of its tables
 * (RetentionPurges), analytics ones purged where they live (ANALYTICS_DB_URL or the main database).
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
    private readonly purges: RetentionPurges,
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
    const now = this.clock.now();
    const purges = this.purges.inOrder();
    const deleted: Record<RetentionTable, number> = {};
    for (const { table } of purges) deleted[table] = 0;
    const failed: RetentionTable[] = [];
    this.firstFailure = undefined;
    for (const purge of purges) {
      if (this.stopping) break;
      const cutoff = this.cutoff(purge.keptFor, now);
      try {
        for (;;) {
          const removed = await purge.deleteBatch(this.config.batchSize, cutoff);
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

  /** Rows over before this are past their retention. */
  private cutoff(keptFor: RetentionPeriod, now: Date): Date {
    const days =
      keptFor === 'verification'
        ? this.config.verificationRetentionDays
        : keptFor === 'analytics'
          ? this.config.analyticsRetentionDays
          : keptFor.days;
    return new Date(now.getTime() - days * DAY_MS);
  }

  /** Lets a run in progress finish its current batch, before the pools close. */
  async beforeApplicationShutdown(): Promise<void> {
    this.stopping = true;
    await this.task.stop();
    await this.current?.catch(() => undefined);
  }
}
