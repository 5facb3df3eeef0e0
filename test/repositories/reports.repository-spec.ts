import { randomUUID } from 'node:crypto';
import { BufferedEvent, SmsEventRepository } from '../../src/analytics/events/sms-event.repository';
import { ReportRange, ReportsRepository, RollupRow } from '../../src/analytics/reports.repository';
import { bucketOf, emptyHistogram } from '../../src/analytics/response-time-histogram';
import { SECURITY_RATE_LIMIT_LAYERS } from '../../src/common/events/sms-events';
import { RepositoryDatabase, openRepositoryDatabase } from '../support/repository-database';

/**
 * The reads of the reports and of the alert rules, against a migrated PostgreSQL (through
 * AnalyticsDatabase, as without ANALYTICS_DB_URL), on events written as the recorder writes them:
 * which rows each range takes, how periods split (UTC hours, days, weeks from Monday), and the
 * order and limits of the failure lists. Each test reads a month of its own.
 */
describe('ReportsRepository', () => {
  let database: RepositoryDatabase;
  let repository: ReportsRepository;
  let events: SmsEventRepository;

  beforeAll(async () => {
    database = await openRepositoryDatabase();
    repository = new ReportsRepository(database.analytics);
    events = new SmsEventRepository(database.analytics);
  });

  afterAll(() => database.close());

  function event(occurredAt: string, overrides: Partial<BufferedEvent> = {}): BufferedEvent {
    return {
      id: randomUUID(),
      status: 'sent',
      occurredAt: new Date(occurredAt),
      country: 'ET',
      purpose: 'login',
      channel: 'twilio-messaging',
      cost: 0.05,
      costSource: 'estimate',
      ...overrides,
    };
  }

  function range(from: string, to: string, overrides: Partial<ReportRange> = {}): ReportRange {
    return { from: new Date(from), to: new Date(to), groupBy: 'day', ...overrides };
  }

  /** Events per `key` column value (and status), from rollup rows. */
  function eventsBy(rows: RollupRow[], key: string): Record<string, number> {
    const totals: Record<string, number> = {};
    for (const row of rows) {
      const value = row[key];
      const name = `${value instanceof Date ? value.toISOString() : String(value)} ${String(row.status)}`;
      totals[name] = (totals[name] ?? 0) + Number(row.events);
    }
    return totals;
  }

  it('reads the hours from the one holding `from` up to `to` (exclusive), within the filters', async () => {
    await events.write([
      event('2030-01-10T11:59:59Z'),
      event('2030-01-10T12:10:00Z'),
      event('2030-01-10T12:50:00Z', { status: 'verified' }),
      event('2030-01-10T13:59:00Z', { purpose: 'registration' }),
      event('2030-01-10T13:30:00Z', { country: 'KE' }),
      event('2030-01-10T14:00:00Z'),
    ]);
    const rows = await repository.rollups(range('2030-01-10T12:30:00Z', '2030-01-10T14:00:00Z'));
    expect(eventsBy(rows, 'detail')).toEqual({
      'twilio-messaging sent': 3,
      'twilio-messaging verified': 1,
    });

    const filtered = await repository.rollups(
      range('2030-01-10T00:00:00Z', '2030-01-11T00:00:00Z', { purpose: 'login', country: 'ET' }),
      [],
      ['sent'],
    );
    expect(eventsBy(filtered, 'detail')).toEqual({ 'twilio-messaging sent': 3 });
  });

  it('groups by UTC hour, day and week (weeks start on Monday), and by column', async () => {
    await events.write([
      event('2030-02-02T23:30:00Z'), // Saturday
      event('2030-02-03T00:30:00Z'), // Sunday
      event('2030-02-04T00:30:00Z', { country: 'KE' }), // Monday
      event('2030-02-04T00:45:00Z', { purpose: 'registration' }),
    ]);
    const february = (groupBy: ReportRange['groupBy']) =>
      range('2030-02-01T00:00:00Z', '2030-03-01T00:00:00Z', { groupBy });

    expect(eventsBy(await repository.rollups(february('hour'), ['period']), 'grouped')).toEqual({
      '2030-02-02T23:00:00.000Z sent': 1,
      '2030-02-03T00:00:00.000Z sent': 1,
      '2030-02-04T00:00:00.000Z sent': 2,
    });
    expect(eventsBy(await repository.rollups(february('day'), ['period']), 'grouped')).toEqual({
      '2030-02-02T00:00:00.000Z sent': 1,
      '2030-02-03T00:00:00.000Z sent': 1,
      '2030-02-04T00:00:00.000Z sent': 2,
    });
    expect(eventsBy(await repository.rollups(february('week'), ['period']), 'grouped')).toEqual({
      '2030-01-28T00:00:00.000Z sent': 2,
      '2030-02-04T00:00:00.000Z sent': 2,
    });
    const byPeriodAndCountry = await repository.rollups(february('week'), [
      'period',
      'country_code',
    ]);
    expect(eventsBy(byPeriodAndCountry, 'grouped1')).toEqual({ 'ET sent': 3, 'KE sent': 1 });
    expect(eventsBy(await repository.rollups(february('day'), ['purpose']), 'grouped')).toEqual({
      'login sent': 3,
      'registration sent': 1,
    });
  });

  it("adds up the range's response-time histograms, zeros when there is none", async () => {
    await events.write([
      event('2030-03-05T10:00:00Z', { responseTimeMs: 40 }),
      event('2030-03-05T11:00:00Z', { responseTimeMs: 40, status: 'verified' }),
      event('2030-03-05T11:30:00Z', { responseTimeMs: 900, purpose: 'registration' }),
      event('2030-03-06T11:00:00Z', { responseTimeMs: 5 }),
    ]);
    const expected = emptyHistogram();
    expected[bucketOf(40)] = 2;
    expected[bucketOf(900)] = 1;
    expect(
      await repository.responseTimeHistogram(range('2030-03-05T00:00:00Z', '2030-03-06T00:00:00Z')),
    ).toEqual(expected);
    expected[bucketOf(900)] = 0;
    expect(
      await repository.responseTimeHistogram(
        range('2030-03-05T00:00:00Z', '2030-03-06T00:00:00Z', { purpose: 'login' }),
      ),
    ).toEqual(expected);
    expect(
      await repository.responseTimeHistogram(range('2030-03-10T00:00:00Z', '2030-03-11T00:00:00Z')),
    ).toEqual(emptyHistogram());
  });

  it('lists the most frequent errors and the latest failures of the range, and nothing else', async () => {
    const failure = (at: string, status: BufferedEvent['status'], errorCode?: string) =>
      event(at, { status, errorCode, cost: undefined, costSource: undefined });
    const batch: BufferedEvent[] = [
      failure('2030-04-01T09:59:59Z', 'undelivered', '30003'), // before the range
      failure('2030-04-02T00:00:00Z', 'undelivered', '30003'), // at `to`: after it
      failure('2030-04-01T10:00:00Z', 'delivered'),
      event('2030-04-01T10:00:00Z', { status: 'wrong_code', country: 'KE' }),
    ];
    for (let index = 0; index < 12; index += 1) {
      // Twelve error codes, the n-th of them n+1 times.
      for (let repeat = 0; repeat <= index; repeat += 1) {
        batch.push(
          failure(
            `2030-04-01T${String(10 + index).padStart(2, '0')}:${String(repeat).padStart(2, '0')}:00Z`,
            'undelivered',
            String(30_100 + index),
          ),
        );
      }
    }
    batch.push(failure('2030-04-01T10:00:00Z', 'failed', '30111'));
    await events.write(batch);

    const { top, recent } = await repository.failures(
      range('2030-04-01T10:00:00Z', '2030-04-02T00:00:00Z'),
    );
    expect(top.map((row) => [row.error_code, row.status, Number(row.count)])).toEqual([
      ['30111', 'undelivered', 12],
      ['30110', 'undelivered', 11],
      ['30109', 'undelivered', 10],
      ['30108', 'undelivered', 9],
      ['30107', 'undelivered', 8],
      ['30106', 'undelivered', 7],
      ['30105', 'undelivered', 6],
      ['30104', 'undelivered', 5],
      ['30103', 'undelivered', 4],
      ['30102', 'undelivered', 3],
    ]);
    expect(recent).toHaveLength(20);
    const times = recent.map((row) => (row.occurred_at as Date).getTime());
    expect(times).toEqual([...times].sort((left, right) => right - left));
    expect(recent[0]).toMatchObject({
      occurred_at: new Date('2030-04-01T21:11:00Z'),
      status: 'undelivered',
      error_code: '30111',
      country_code: 'ET',
    });

    const kenya = await repository.failures(
      range('2030-04-01T00:00:00Z', '2030-04-02T00:00:00Z', { country: 'KE' }),
    );
    expect(kenya.top).toEqual([{ error_code: null, status: 'wrong_code', count: '1' }]);
  });

  it("counts the alert rules' hour: after its start, up to and with its end", async () => {
    const from = new Date('2030-05-01T11:00:00Z');
    const to = new Date('2030-05-01T12:00:00Z');
    await events.write([
      event('2030-05-01T11:00:00Z'), // at the start: the hour before's
      event('2030-05-01T11:00:00.001Z'),
      event('2030-05-01T11:30:00Z', { status: 'failed' }),
      event('2030-05-01T11:40:00Z', { status: 'undelivered' }),
      event('2030-05-01T11:45:00Z', { status: 'rate_limited', layer: 'verify-ip' }),
      event('2030-05-01T11:46:00Z', { status: 'rate_limited', layer: 'send-phone' }),
      event('2030-05-01T11:50:00Z', { status: 'security', layer: 'code-attempts' }),
      event('2030-05-01T12:00:00Z'),
      event('2030-05-01T12:00:00.001Z'),
    ]);
    expect(await repository.eventCounts(from, to, SECURITY_RATE_LIMIT_LAYERS)).toEqual({
      sends: 3,
      failures: 2,
      rate_limited: 2,
      security: 2,
    });
  });

  it('reads the route-minutes after the start up to the end, and the cost of the sends of the day', async () => {
    const minute = (at: string, slow: number) => {
      const histogram = emptyHistogram();
      histogram[bucketOf(slow)] = 1;
      return {
        minute: new Date(at),
        route: 'POST /auth/login',
        requests: 1,
        responseMsSum: slow,
        histogram,
      };
    };
    await events.writeTimings([
      minute('2030-06-01T10:59:00Z', 1),
      minute('2030-06-01T11:00:00Z', 2),
      minute('2030-06-01T11:30:00Z', 3),
      minute('2030-06-01T12:00:00Z', 4),
    ]);
    const histograms = await repository.requestTimingHistograms(
      new Date('2030-06-01T10:59:00Z'),
      new Date('2030-06-01T12:00:00Z'),
    );
    expect(histograms.map((histogram) => histogram.indexOf(1)).sort()).toEqual([
      bucketOf(2),
      bucketOf(3),
      bucketOf(4),
    ]);

    await events.write([
      event('2030-06-01T23:59:00Z', { cost: 1 }), // yesterday's, for the next day
      event('2030-06-02T00:10:00Z', { cost: 0.25 }),
      event('2030-06-02T09:59:00Z', { cost: 0.5 }),
      event('2030-06-02T09:00:00Z', { status: 'failed', cost: 2 }),
      event('2030-06-02T10:30:00Z', { cost: 4 }), // in the hour `to` starts: counted
    ]);
    expect(
      await repository.sentCost(new Date('2030-06-02T00:00:00Z'), new Date('2030-06-02T10:00:00Z')),
    ).toBe(4.75);
    expect(
      await repository.sentCost(new Date('2030-06-02T00:00:00Z'), new Date('2030-06-02T09:59:00Z')),
    ).toBe(0.75);
  });
});
