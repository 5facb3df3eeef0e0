import { Logger } from '@nestjs/common';
import { SchedulerRegistry } from '@nestjs/schedule';
import { ServiceUnavailableError } from './errors/product-error';
import { RecurringTask } from './recurring-task';

const INTERVAL_MS = 1_000;
const MAX_BACKOFF_MS = 8_000;

function outage(code = 'ECONNREFUSED'): Error {
  return Object.assign(new Error(`connect ${code} 10.0.0.5:5432`), { code });
}

/** A task whose runs answer from a script: an error to throw, or undefined to succeed. */
function scriptedTask(script: (Error | undefined)[]) {
  const logger = new Logger('test');
  const lines: { level: string; fields: Record<string, unknown>; message: string }[] = [];
  for (const level of ['log', 'warn', 'error'] as const) {
    jest.spyOn(logger, level).mockImplementation((...[fields, message]: unknown[]) => {
      lines.push({ level, fields: fields as Record<string, unknown>, message: String(message) });
    });
  }
  const runAt: number[] = [];
  const registry = new SchedulerRegistry();
  const task = new RecurringTask(
    { name: 'price poll', intervalMs: INTERVAL_MS, maxBackoffMs: MAX_BACKOFF_MS },
    async () => {
      runAt.push(Date.now());
      const next = script.shift();
      if (next) throw next;
    },
    logger,
    registry,
  );
  return { task, lines, runAt, registry };
}

/** Waits between consecutive runs. */
function gaps(runAt: number[]): number[] {
  return runAt.slice(1).map((at, index) => at - runAt[index]);
}

describe('RecurringTask', () => {
  beforeEach(() => jest.useFakeTimers({ now: 0 }));
  afterEach(() => {
    jest.useRealTimers();
    jest.restoreAllMocks();
  });

  it('runs every interval while runs succeed', async () => {
    const { task, runAt } = scriptedTask([]);
    task.start();

    await jest.advanceTimersByTimeAsync(3_500);

    expect(runAt).toEqual([1_000, 2_000, 3_000]);
    await task.stop();
  });

  it('doubles the wait after each failure up to the cap, and restores the interval on success', async () => {
    const failures = Array.from({ length: 6 }, () => outage());
    const { task, runAt } = scriptedTask(failures);
    task.start();

    await jest.advanceTimersByTimeAsync(60_000);

    // 6 failures: waits of 2, 4, 8, 8, 8 s after them; then success, and every second again.
    expect(gaps(runAt).slice(0, 8)).toEqual([
      2_000, 4_000, 8_000, 8_000, 8_000, 8_000, 1_000, 1_000,
    ]);
    await task.stop();
  });

  it('never waits longer than a long interval, however many failures', () => {
    expect(RecurringTask.delayAfter(0, 3_600_000, 60_000)).toBe(3_600_000);
    expect(RecurringTask.delayAfter(5, 3_600_000, 60_000)).toBe(3_600_000);
    expect(RecurringTask.delayAfter(1_000, 1_000, 60_000)).toBe(60_000);
  });

  it('logs each cause of a failure streak once, by error code, and the recovery once', async () => {
    const { task, lines } = scriptedTask([
      outage('ECONNREFUSED'),
      outage('ECONNREFUSED'),
      outage('ECONNREFUSED'),
      Object.assign(new Error('the database system is starting up'), { code: '57P03' }),
      outage('ECONNREFUSED'),
    ]);
    task.start();

    await jest.advanceTimersByTimeAsync(60_000);
    await task.stop();

    expect(
      lines.map(({ level, fields }) => [level, fields.errorCode ?? fields.failedRuns]),
    ).toEqual([
      ['warn', 'ECONNREFUSED'],
      ['warn', '57P03'],
      ['log', 5],
    ]);
    expect(JSON.stringify(lines)).not.toContain('10.0.0.5');
  });

  it('logs a cause again in the next failure streak', async () => {
    const { task, lines } = scriptedTask([outage(), undefined, outage()]);
    task.start();

    await jest.advanceTimersByTimeAsync(10_000);
    await task.stop();

    expect(lines.map(({ level }) => level)).toEqual(['warn', 'log', 'warn', 'log']);
  });

  it('counts a product error that says "later" (Twilio down) as an outage', async () => {
    const { task, lines } = scriptedTask([new ServiceUnavailableError()]);
    task.start();

    await jest.advanceTimersByTimeAsync(1_000);
    await task.stop();

    expect(lines).toEqual([
      expect.objectContaining({
        level: 'warn',
        fields: expect.objectContaining({ errorCode: 'SERVICE_UNAVAILABLE' }),
      }),
    ]);
  });

  it('logs an error that is no outage with its stack', async () => {
    const bug = new TypeError("Cannot read properties of undefined (reading 'sid')");
    const { task, lines } = scriptedTask([bug, bug]);
    task.start();

    await jest.advanceTimersByTimeAsync(5_000);
    await task.stop();

    const errors = lines.filter(({ level }) => level === 'error');
    expect(errors).toHaveLength(1);
    expect(errors[0].fields.err).toBe(bug);
  });

  it('runs at once when asked, but not while backing off after a failure', async () => {
    const { task, runAt } = scriptedTask([undefined, outage()]);
    task.start();

    task.runSoon();
    await jest.advanceTimersByTimeAsync(0);
    expect(runAt).toEqual([0]);

    await jest.advanceTimersByTimeAsync(1_000);
    expect(runAt).toEqual([0, 1_000]);
    task.runSoon();
    task.runSoon();
    await jest.advanceTimersByTimeAsync(1_000);
    expect(runAt).toEqual([0, 1_000]);

    await jest.advanceTimersByTimeAsync(1_000);
    expect(runAt).toEqual([0, 1_000, 3_000]);
    await task.stop();
  });

  it('runs no more once stopped, and stop waits for the run in progress', async () => {
    let finish = () => undefined as void;
    let runs = 0;
    const task = new RecurringTask(
      { name: 'retention', intervalMs: INTERVAL_MS, maxBackoffMs: MAX_BACKOFF_MS },
      () => {
        runs += 1;
        return new Promise<void>((resolve) => (finish = resolve));
      },
      new Logger('test'),
      new SchedulerRegistry(),
    );
    task.start();
    await jest.advanceTimersByTimeAsync(1_000);

    let stopped = false;
    const stopping = task.stop().then(() => (stopped = true));
    await jest.advanceTimersByTimeAsync(0);
    expect(stopped).toBe(false);
    finish();
    await stopping;

    await jest.advanceTimersByTimeAsync(10_000);
    expect(runs).toBe(1);
  });

  it('keeps its timer in the registry under its name from start to stop, runs included', async () => {
    const { task, registry } = scriptedTask([]);
    expect(registry.getTimeouts()).toEqual([]);

    task.start();
    task.start();
    expect(registry.getTimeouts()).toEqual(['price poll']);
    await jest.advanceTimersByTimeAsync(2_500);
    task.runSoon();
    expect(registry.getTimeouts()).toEqual(['price poll']);

    await task.stop();
    expect(registry.getTimeouts()).toEqual([]);
  });

  it('refuses to start beside another task of the same name', () => {
    const { task, registry } = scriptedTask([]);
    task.start();
    const twin = new RecurringTask(
      { name: 'price poll', intervalMs: INTERVAL_MS, maxBackoffMs: MAX_BACKOFF_MS },
      async () => undefined,
      new Logger('test'),
      registry,
    );

    expect(() => twin.start()).toThrow('price poll');
  });

  it('runs no more once its timer is deleted from the registry, even during a run', async () => {
    let finish = () => undefined as void;
    let runs = 0;
    const registry = new SchedulerRegistry();
    const task = new RecurringTask(
      { name: 'retention', intervalMs: INTERVAL_MS, maxBackoffMs: MAX_BACKOFF_MS },
      () => {
        runs += 1;
        return new Promise<void>((resolve) => (finish = resolve));
      },
      new Logger('test'),
      registry,
    );
    task.start();
    await jest.advanceTimersByTimeAsync(1_000);

    // What ScheduleModule does to every timeout of the registry at shutdown.
    registry.deleteTimeout('retention');
    finish();
    await jest.advanceTimersByTimeAsync(10_000);
    task.runSoon();
    await jest.advanceTimersByTimeAsync(10_000);

    expect(runs).toBe(1);
    expect(registry.getTimeouts()).toEqual([]);
    expect(jest.getTimerCount()).toBe(0);
    await task.stop();
  });
});
