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
import { SmsEvents, lifecycleStatus } from '../common/events/sms-events';
import { Configuration } from '../config/configuration';
import { Sql } from '../database/sql';
import { VerificationRepository } from './verification.repository';
import { EndedVerification } from './verification.rows';

/** Any constant unique among this database's advisory locks ("SMSX"). */
export const EXPIRY_SWEEP_LOCK_KEY = 0x534d5358;
/** Rows per statement: each batch is one short transaction that skips rows a request holds. */
const BATCH_SIZE = 1_000;

export type ExpirySweep = { status: 'completed'; expired: number } | { status: 'skipped' };

/**
 * Records expiry when it happens: every SMS_EXPIRY_SWEEP_INTERVAL_MS, one instance at a time (a
 * PostgreSQL advisory lock), pending verifications past `expires_at` become `expired` and each
 * gets one `expired` event, dated when its code expired. Without it a code that nobody used stayed
 * pending, and unreported, until the next send to its number and purpose.
 *
 * Exactly once: a row is reported by the statement that moves it from pending to expired, and
 * that move happens once (`status = 'pending'` is re-checked on the locked row), whether this
 * sweep, another instance's or the lazy path of a new send (VerificationSender.expireStale)
 * gets there first.
 */
@Injectable()
export class ExpirySweeper implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly logger = new Logger('ExpirySweep');
  private readonly intervalMs: number;
  private readonly task: RecurringTask;
  private current?: Promise<ExpirySweep>;
  private stopping = false;

  constructor(
    private readonly verifications: VerificationRepository,
    private readonly sql: Sql,
    private readonly events: SmsEvents,
    private readonly clock: Clock,
    config: ConfigService<Configuration, true>,
    jobs: RecurringJobs,
  ) {
    this.intervalMs = config.get('sms', { infer: true }).expirySweepIntervalMs;
    // A sweep that fails (the database unreachable) is logged once per cause and backs off.
    this.task = jobs.create(
      { name: 'expiry sweep', intervalMs: this.intervalMs },
      () => this.sweepOnce(),
      this.logger,
    );
  }

  onApplicationBootstrap(): void {
    this.task.start();
  }

  /** One sweep, unless one is already running here or on another instance. */
  sweepOnce(): Promise<ExpirySweep> {
    if (this.current || this.stopping) return Promise.resolve({ status: 'skipped' });
    const sweep = this.sweep().finally(() => {
      this.current = undefined;
    });
    this.current = sweep;
    return sweep;
  }

  private async sweep(): Promise<ExpirySweep> {
    const run = await this.sql.withAdvisoryLock(EXPIRY_SWEEP_LOCK_KEY, 'sms-expiry-sweep', () =>
      this.expireAllDue(),
    );
    return run.ran ? run.result : { status: 'skipped' };
  }

  private async expireAllDue(): Promise<ExpirySweep> {
    const now = this.clock.now();
    let expired = 0;
    for (;;) {
      const rows = await this.verifications.expireDue(now, BATCH_SIZE);
      for (const row of rows) this.report(row);
      expired += rows.length;
      if (rows.length < BATCH_SIZE || this.stopping) break;
    }
    if (expired > 0) this.logger.log({ expired }, `expiry sweep: ${expired} codes expired`);
    return { status: 'completed', expired };
  }

  private report(row: EndedVerification): void {
    const status = lifecycleStatus('expired', row.channel);
    if (!status) return;
    this.events.publish({
      status,
      occurredAt: row.expires_at,
      phoneHash: row.phone_number_hash,
      purpose: row.purpose,
      country: row.country_code?.trim() || undefined,
      channel: row.channel,
      verificationId: row.id,
    });
  }

  async beforeApplicationShutdown(): Promise<void> {
    this.stopping = true;
    await this.task.stop();
    await this.current?.catch(() => undefined);
  }
}
