import { Logger } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { SchedulerRegistry } from '@nestjs/schedule';
import { AnalyticsDatabase } from '../analytics/analytics-database';
import { SmsMessageRepository } from '../analytics/delivery/sms-message.repository';
import { SmsEventRepository } from '../analytics/events/sms-event.repository';
import { RefreshTokenRepository } from '../auth/tokens/refresh-token.repository';
import { Clock } from '../common/clock';
import { RecurringJobs } from '../common/recurring-jobs';
import { Configuration } from '../config/configuration';
import { loadConfiguration } from '../config/load-configuration';
import { Sql } from '../database/sql';
import { MemoryRateLimitStore } from '../rate-limit/store/memory-rate-limit.store';
import { PostgresRateLimitStore } from '../rate-limit/store/postgres-rate-limit.store';
import { RateLimitStore } from '../rate-limit/store/rate-limit-store';
import { rateLimitRetention } from '../rate-limit/store/rate-limit-retention';
import { SmsHoldRepository } from '../sms/abuse/pumping/sms-hold.repository';
import { SmsSuppressionRepository } from '../sms/abuse/suppression/sms-suppression.repository';
import { VerificationRepository } from '../sms/verification.repository';
import { RetentionPurges } from './retention-purges';
import { RetentionService } from './retention.service';

const NOW = new Date('2026-11-25T12:00:00Z');
const DAY_MS = 86_400_000;

/**
 * A database that answers each batch delete with the next count queued for its table (0 once
 * they run out), or throws for a table listed as broken.
 */
class FakeDatabase {
  readonly deletes: { table: string; values: unknown[] }[] = [];

  constructor(
    private readonly counts: Record<string, number[]> = {},
    private readonly broken: string[] = [],
  ) {}

  async rows<T>(text: string, values: unknown[] = []): Promise<T[]> {
    const table = /DELETE FROM (\w+)/.exec(text)![1];
    this.deletes.push({ table, values });
    if (this.broken.includes(table)) throw new Error(`${table} is unreachable`);
    return [{ removed: this.counts[table]?.shift() ?? 0 } as T];
  }

  /** The only instance: it always holds the lock. */
  async withAdvisoryLock<T>(_key: number, _name: string, work: () => Promise<T>) {
    return { ran: true, result: await work() };
  }
}

function retention(options: {
  main?: FakeDatabase;
  analytics?: FakeDatabase;
  store?: RateLimitStore;
  env?: Record<string, string>;
}): RetentionService {
  const configuration = loadConfiguration({ RETENTION_BATCH_SIZE: '2', ...options.env });
  const config = {
    get: (key: keyof typeof configuration) => configuration[key],
  } as unknown as ConfigService<Configuration, true>;
  const clock: Clock = { now: () => NOW };
  const main = (options.main ?? new FakeDatabase()) as unknown as Sql;
  const analytics = (options.analytics ?? new FakeDatabase()) as unknown as AnalyticsDatabase;
  // What the modules owning these tables register when the app starts.
  const purges = new RetentionPurges();
  purges.register(
    ...new VerificationRepository(main).retentionPurges(),
    ...new RefreshTokenRepository(main).retentionPurges(),
    ...new SmsHoldRepository(main).retentionPurges(),
    ...new SmsSuppressionRepository(main, clock).retentionPurges(),
    rateLimitRetention(options.store ?? new MemoryRateLimitStore()),
    ...new SmsEventRepository(analytics).retentionPurges(),
    ...new SmsMessageRepository(analytics).retentionPurges(),
  );
  return new RetentionService(
    main,
    purges,
    clock,
    config,
    new RecurringJobs(new SchedulerRegistry(), config),
  );
}

describe('RetentionService', () => {
  beforeEach(() => {
    jest.spyOn(Logger.prototype, 'log').mockImplementation(() => undefined);
    jest.spyOn(Logger.prototype, 'error').mockImplementation(() => undefined);
  });
  afterEach(() => jest.restoreAllMocks());

  it('repeats a batch until one deletes fewer rows than the batch size', async () => {
    const main = new FakeDatabase({ sms_verifications: [2, 2, 1] });
    const run = await retention({ main }).runOnce();

    expect(run).toMatchObject({ status: 'completed', failed: [] });
    expect(run.status === 'completed' && run.deleted.sms_verifications).toBe(5);
    const batches = main.deletes.filter((call) => call.table === 'sms_verifications');
    expect(batches.map((call) => call.values[0])).toEqual([2, 2, 2]);
  });

  it('cuts off at the configured number of days before now', async () => {
    const main = new FakeDatabase();
    const analytics = new FakeDatabase();
    await retention({
      main,
      analytics,
      env: { SMS_VERIFICATION_RETENTION_DAYS: '7', ANALYTICS_RETENTION_DAYS: '90' },
    }).runOnce();

    const cutoff = (days: number) => new Date(NOW.getTime() - days * DAY_MS);
    const lastValue = (database: FakeDatabase, table: string) =>
      database.deletes.find((call) => call.table === table)!.values.at(-1);
    expect(lastValue(main, 'sms_verifications')).toEqual(cutoff(7));
    expect(lastValue(main, 'refresh_tokens')).toEqual(cutoff(7));
    expect(lastValue(main, 'sms_holds')).toEqual(cutoff(7));
    expect(lastValue(main, 'sms_suppressions')).toEqual(NOW);
    expect(lastValue(analytics, 'sms_events')).toEqual(cutoff(90));
    expect(lastValue(analytics, 'sms_messages')).toEqual(cutoff(90));
    // A rollup bucket goes only once its whole hour is past the cutoff.
    expect(lastValue(analytics, 'sms_event_rollups')).toEqual(
      new Date(cutoff(90).getTime() - 3_600_000),
    );
  });

  it('goes on with the other tables when one fails, and reports it', async () => {
    const main = new FakeDatabase({ sms_holds: [1] });
    const analytics = new FakeDatabase({ sms_messages: [1] }, ['sms_events']);
    const run = await retention({ main, analytics }).runOnce();

    expect(run).toMatchObject({
      status: 'completed',
      failed: ['sms_events'],
      deleted: { sms_holds: 1, sms_messages: 1 },
    });
  });

  it('sweeps the PostgreSQL rate-limit store, and no other store', async () => {
    const query = jest.fn(async () => [{ removed: 1 }]);
    const store = new PostgresRateLimitStore({ rows: query } as unknown as Sql);
    const run = await retention({ store }).runOnce();
    expect(run).toMatchObject({ deleted: { sms_rate_limits: 1 } });
    expect(query).toHaveBeenCalledWith(expect.stringContaining('sms_rate_limits'), [NOW, 2]);

    const memory = await retention({ store: new MemoryRateLimitStore() }).runOnce();
    expect(memory).toMatchObject({ deleted: { sms_rate_limits: 0 } });
  });

  it('skips a run asked for while one is going on, and any run once shutting down', async () => {
    const service = retention({ main: new FakeDatabase({ sms_verifications: [2, 2, 0] }) });
    const running = service.runOnce();
    await expect(service.runOnce()).resolves.toEqual({ status: 'skipped' });
    await expect(running).resolves.toMatchObject({ status: 'completed' });

    await service.beforeApplicationShutdown();
    await expect(service.runOnce()).resolves.toEqual({ status: 'skipped' });
  });
});
