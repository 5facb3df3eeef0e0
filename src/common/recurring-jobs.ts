import { Injectable, Logger } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { SchedulerRegistry } from '@nestjs/schedule';
import { Configuration } from '../config/configuration';
import { RecurringTask } from './recurring-task';

export interface RecurringJob {
  /** Its timeout's name in the SchedulerRegistry, and the `task` of its log lines. */
  name: string;
  /** Wait between the end of one run and the start of the next, while runs succeed. */
  intervalMs: number;
}

/**
 * Where services get their periodic jobs: each one a RecurringTask (one run at a time, back-off
 * while failing) whose timer Nest's SchedulerRegistry holds under the job's name, so the registry
 * lists the jobs of the app and ScheduleModule clears them at shutdown. Every job backs off up to
 * BACKGROUND_RETRY_MAX_MS; the service that owns a job starts and stops it.
 */
@Injectable()
export class RecurringJobs {
  private readonly maxBackoffMs: number;

  constructor(
    private readonly registry: SchedulerRegistry,
    config: ConfigService<Configuration, true>,
  ) {
    this.maxBackoffMs = config.get('app', { infer: true }).backgroundRetryMaxMs;
  }

  create(job: RecurringJob, work: () => Promise<unknown>, logger: Logger): RecurringTask {
    return new RecurringTask(
      { ...job, maxBackoffMs: this.maxBackoffMs },
      work,
      logger,
      this.registry,
    );
  }
}
