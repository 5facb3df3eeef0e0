import { Logger } from '@nestjs/common';
import { SchedulerRegistry } from '@nestjs/schedule';
import { setTimeout as sleep } from 'node:timers/promises';
import { RecurringJob, RecurringJobs } from '../../src/common/recurring-jobs';
import { TestApp, startTestApp } from '../support/test-app';

const JOBS = [
  'Twilio price poll',
  'alert evaluation',
  'analytics writes',
  'expiry sweep',
  'retention',
];
/** Every job at its shortest interval, so that each runs within the test. */
const SHORT_INTERVALS = {
  SMS_EXPIRY_SWEEP_INTERVAL_MS: '1000',
  ANALYTICS_FLUSH_INTERVAL_MS: '1000',
  TWILIO_PRICE_POLL_INTERVAL_MS: '1000',
  ALERT_EVALUATION_INTERVAL_MS: '1000',
  RETENTION_INTERVAL_MS: '1000',
};

/** The app's jobs, each counting its runs. */
class CountedJobs extends RecurringJobs {
  readonly runs = new Map<string, number>();

  override create(job: RecurringJob, work: () => Promise<unknown>, logger: Logger) {
    return super.create(
      job,
      () => {
        this.runs.set(job.name, (this.runs.get(job.name) ?? 0) + 1);
        return work();
      },
      logger,
    );
  }
}

async function waitFor(condition: () => boolean, withinMs: number): Promise<void> {
  const deadline = Date.now() + withinMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`not within ${withinMs} ms`);
    await sleep(50);
  }
}

/**
 * The periodic jobs are Nest's: their timers sit in the app's SchedulerRegistry under their
 * names from boot, and closing the app (what SIGTERM does) leaves none behind.
 */
describe('Periodic jobs', () => {
  let service: TestApp | undefined;
  afterEach(async () => {
    await service?.close();
    service = undefined;
  });

  it('are listed by name in the SchedulerRegistry after boot, and none runs after shutdown', async () => {
    service = await startTestApp({
      env: SHORT_INTERVALS,
      override: (builder) => builder.overrideProvider(RecurringJobs).useClass(CountedJobs),
    });
    const registry = service.app.get(SchedulerRegistry);
    const jobs = service.app.get(RecurringJobs) as CountedJobs;

    expect(registry.getTimeouts().sort()).toEqual(JOBS);
    await waitFor(() => jobs.runs.size === JOBS.length, 5_000);

    await service.close();
    expect(registry.getTimeouts()).toEqual([]);
    const runsAtShutdown = new Map(jobs.runs);
    await sleep(2_500);
    expect(jobs.runs).toEqual(runsAtShutdown);
  });

  it('leave out the analytics writes when analytics is off', async () => {
    service = await startTestApp({ env: { ENABLE_SMS_ANALYTICS: 'false' } });

    expect(service.app.get(SchedulerRegistry).getTimeouts().sort()).toEqual(
      JOBS.filter((job) => job !== 'analytics writes'),
    );
  });
});
