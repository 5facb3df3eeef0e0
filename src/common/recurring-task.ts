import { Logger } from '@nestjs/common';
import { SchedulerRegistry } from '@nestjs/schedule';
import { dependencyFailureReason } from './errors/dependency-failure';
import { ProductError } from './errors/product-error';

export interface RecurringTaskOptions {
  /** Names the task in its log lines and its timer in the SchedulerRegistry; unique per app. */
  name: string;
  /** Wait between the end of one run and the start of the next, while runs succeed. */
  intervalMs: number;
  /** Longest wait between runs while they keep failing (never shorter than the interval). */
  maxBackoffMs: number;
}

/**
 * Work the service does by itself, off the request path (flushing analytics, polling prices,
 * evaluating alerts, purging old rows), run every `intervalMs`, one run at a time.
 *
 * A run that fails never escapes: an unhandled rejection from a timer would end the process, and
 * with it every request in flight, on every instance at once when a shared database goes away.
 * Instead each cause of failure is logged once per failure streak (an outage of minutes is not a
 * line per run), the wait before the next run doubles with each failure up to `maxBackoffMs`, and
 * the first run that succeeds again logs the recovery and restores the interval.
 *
 * Nest owns the timer: from start() to stop() the pending run's timeout sits in the app's
 * SchedulerRegistry under the task's name (the registry lists the app's jobs), and a task whose
 * timeout is deleted there, as ScheduleModule does at shutdown, runs no more, even when the
 * deletion comes while a run is in progress.
 */
export class RecurringTask {
  private timer?: NodeJS.Timeout;
  private current?: Promise<void>;
  private failures = 0;
  /** Causes already logged in the current failure streak. */
  private readonly loggedCauses = new Set<string>();

  constructor(
    private readonly options: RecurringTaskOptions,
    private readonly work: () => Promise<unknown>,
    private readonly logger: Logger,
    private readonly registry: SchedulerRegistry,
  ) {}

  /** Whether the last run failed: the task is waiting out its back-off. */
  get failing(): boolean {
    return this.failures > 0;
  }

  start(): void {
    if (this.scheduled) return;
    this.registry.addTimeout(this.options.name, this.timerFor(this.options.intervalMs));
  }

  /**
   * Runs now rather than at the next tick, unless a run is going on or the task is backing off
   * after a failure (a caller with more work must not undo the back-off).
   */
  runSoon(): void {
    if (!this.scheduled || this.current || this.failing) return;
    clearTimeout(this.timer);
    void this.runAndReschedule();
  }

  /** No further runs; resolves once a run in progress has ended. */
  async stop(): Promise<void> {
    if (this.scheduled) this.registry.deleteTimeout(this.options.name);
    clearTimeout(this.timer);
    await this.current;
  }

  /** The wait before the next run after `failures` failures in a row. */
  static delayAfter(failures: number, intervalMs: number, maxBackoffMs: number): number {
    if (failures === 0) return intervalMs;
    const ceiling = Math.max(intervalMs, maxBackoffMs);
    return Math.min(intervalMs * 2 ** Math.min(failures, 30), ceiling);
  }

  /**
   * Started and not stopped since: the registry still holds this task's timeout (the pending one,
   * or during a run the one that started it).
   */
  private get scheduled(): boolean {
    const { name } = this.options;
    return (
      this.registry.doesExist('timeout', name) &&
      this.registry.getTimeout<NodeJS.Timeout>(name) === this.timer
    );
  }

  private timerFor(delayMs: number): NodeJS.Timeout {
    this.timer = setTimeout(() => void this.runAndReschedule(), delayMs);
    // A pending run never holds the process open; shutdown stops the task explicitly.
    this.timer.unref();
    return this.timer;
  }

  private async runAndReschedule(): Promise<void> {
    this.current = this.attempt();
    await this.current;
    this.current = undefined;
    if (!this.scheduled) return;
    const { name, intervalMs, maxBackoffMs } = this.options;
    this.registry.deleteTimeout(name);
    this.registry.addTimeout(
      name,
      this.timerFor(RecurringTask.delayAfter(this.failures, intervalMs, maxBackoffMs)),
    );
  }

  private async attempt(): Promise<void> {
    try {
      await this.work();
    } catch (error) {
      this.failures += 1;
      this.logFailure(error);
      return;
    }
    if (this.failures > 0) {
      this.logger.log(
        { task: this.options.name, failedRuns: this.failures },
        `${this.options.name}: working again`,
      );
    }
    this.failures = 0;
    this.loggedCauses.clear();
  }

  /**
   * An outage is logged by its error code only (a driver's message may carry a host or a query);
   * anything else may be a bug and is logged with its stack.
   */
  private logFailure(error: unknown): void {
    const { name, intervalMs, maxBackoffMs } = this.options;
    const outage = outageReason(error);
    const cause = outage ?? causeOf(error);
    if (this.loggedCauses.has(cause)) return;
    this.loggedCauses.add(cause);
    const retryInMs = RecurringTask.delayAfter(this.failures, intervalMs, maxBackoffMs);
    if (outage) {
      this.logger.warn(
        { task: name, errorCode: outage, retryInMs },
        `${name}: a dependency is unavailable; retrying with back-off`,
      );
    } else {
      this.logger.error(
        { task: name, err: error instanceof Error ? error : new Error(String(error)), retryInMs },
        `${name} failed; retrying with back-off`,
      );
    }
  }
}

/** PostgreSQL or Redis unreachable, or a product error that says "later" (Twilio down). */
function outageReason(error: unknown): string | undefined {
  if (error instanceof ProductError) return error.kind === 'unavailable' ? error.code : undefined;
  return dependencyFailureReason(error);
}

function causeOf(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const code = (error as { code?: unknown }).code;
  return `${error.name}${typeof code === 'string' ? ` ${code}` : ''}: ${error.message}`;
}
