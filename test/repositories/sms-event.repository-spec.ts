import { randomUUID } from 'node:crypto';
import {
  BufferedEvent,
  RouteMinute,
  SmsEventRepository,
} from '../../src/analytics/events/sms-event.repository';
import { bucketOf, emptyHistogram } from '../../src/analytics/response-time-histogram';
import { RepositoryDatabase, openRepositoryDatabase } from '../support/repository-database';

/**
 * The SQL of the analytics writes, against a migrated PostgreSQL (through AnalyticsDatabase, as
 * without ANALYTICS_DB_URL): a batch written again stores and counts nothing twice, rollups add up
 * whatever writes race, and a message's price replaces its estimate once.
 */
describe('SmsEventRepository', () => {
  let database: RepositoryDatabase;
  let repository: SmsEventRepository;
  const HOUR = new Date('2026-06-01T12:00:00.000Z');
  const at = (seconds: number) => new Date(HOUR.getTime() + seconds * 1000);

  beforeAll(async () => {
    database = await openRepositoryDatabase();
    repository = new SmsEventRepository(database.analytics);
  });

  afterAll(() => database.close());

  /** A sent event of Ethiopia's login codes, unless told otherwise. */
  function event(overrides: Partial<BufferedEvent> = {}): BufferedEvent {
    return {
      id: randomUUID(),
      status: 'sent',
      occurredAt: at(0),
      country: 'ET',
      purpose: 'login',
      channel: 'twilio-messaging',
      cost: 0.05,
      currency: 'USD',
      costSource: 'estimate',
      ...overrides,
    };
  }

  interface Rollup {
    events: number;
    cost: string;
    estimated_cost_events: number;
    response_count: number;
    response_ms_sum: string;
  }

  async function rollups(country: string): Promise<Record<string, Rollup>> {
    const rows = await database.sql.rows<Rollup & { bucket: Date; status: string; detail: string }>(
      `SELECT bucket, status, detail, events, cost, estimated_cost_events, response_count,
              response_ms_sum
         FROM sms_event_rollups WHERE country_code = $1`,
      [country],
    );
    return Object.fromEntries(
      rows.map(({ bucket, status, detail, ...sums }) => [
        `${bucket.toISOString()} ${status} ${detail}`,
        sums,
      ]),
    );
  }

  async function storedEvents(country: string): Promise<number> {
    const [{ count }] = await database.sql.rows<{ count: number }>(
      'SELECT count(*)::int AS count FROM sms_events WHERE country_code = $1',
      [country],
    );
    return count;
  }

  it('stores and counts a batch once when it is written again, even while the first write runs', async () => {
    const batch = [
      event({ country: 'KE', cost: 0.05 }),
      event({ country: 'KE', cost: 0.07, costSource: 'twilio' }),
      event({
        country: 'KE',
        status: 'rate_limited',
        layer: 'verify-ip',
        cost: undefined,
        costSource: undefined,
      }),
    ];
    await Promise.all([repository.write(batch), repository.write(batch)]);
    await repository.write(batch);

    expect(await storedEvents('KE')).toBe(3);
    expect(await rollups('KE')).toEqual({
      [`${HOUR.toISOString()} sent twilio-messaging`]: {
        events: 2,
        cost: '0.120000',
        estimated_cost_events: 1,
        response_count: 0,
        response_ms_sum: '0',
      },
      [`${HOUR.toISOString()} rate_limited verify-ip`]: {
        events: 1,
        cost: '0.000000',
        estimated_cost_events: 0,
        response_count: 0,
        response_ms_sum: '0',
      },
    });
  });

  it('adds racing batches into the same hourly rollups, and splits hours at the UTC hour', async () => {
    const first = Array.from({ length: 5 }, (_, index) =>
      event({ country: 'NG', occurredAt: at(index) }),
    );
    const second = Array.from({ length: 7 }, (_, index) =>
      event({ country: 'NG', occurredAt: at(3_599 - index) }),
    );
    const nextHour = [event({ country: 'NG', occurredAt: at(3_600) })];
    const noDetail = [event({ country: 'NG', channel: undefined })];
    await Promise.all([first, second, nextHour, noDetail].map((batch) => repository.write(batch)));

    const rows = await rollups('NG');
    expect(rows[`${HOUR.toISOString()} sent twilio-messaging`]).toMatchObject({
      events: 12,
      cost: '0.600000',
      estimated_cost_events: 12,
    });
    expect(rows[`${at(3_600).toISOString()} sent twilio-messaging`]?.events).toBe(1);
    expect(rows[`${HOUR.toISOString()} sent -`]?.events).toBe(1);
  });

  it('keeps the response times of the events that have one, as sums and as a histogram', async () => {
    const times = [3, 3, 250, 1_200];
    await repository.write([
      ...times.map((responseTimeMs) => event({ country: 'GH', responseTimeMs })),
      event({ country: 'GH', status: 'verified' }),
    ]);
    await repository.write([event({ country: 'GH', status: 'verified', responseTimeMs: 250 })]);

    const rows = await rollups('GH');
    expect(rows[`${HOUR.toISOString()} sent twilio-messaging`]).toMatchObject({
      response_count: 4,
      response_ms_sum: '1456',
    });
    const [stored] = await database.sql.rows<{ responses: number; rt_histogram: number[] }>(
      `SELECT responses, rt_histogram FROM sms_response_time_rollups
        WHERE country_code = 'GH' AND purpose = 'login' AND bucket = $1`,
      [HOUR],
    );
    const expected = emptyHistogram();
    for (const time of [...times, 250]) expected[bucketOf(time)] += 1;
    expect(stored).toEqual({ responses: 5, rt_histogram: expected });
  });

  it('adds request timings to what other instances wrote for the same minute and route', async () => {
    const minute = new Date('2026-06-01T12:05:00.000Z');
    const timing = (requests: number, slowest: number): RouteMinute => {
      const histogram = emptyHistogram();
      histogram[bucketOf(4)] += requests - 1;
      histogram[bucketOf(slowest)] += 1;
      return {
        minute,
        route: 'POST /sms/send-verification',
        requests,
        responseMsSum: 100,
        histogram,
      };
    };
    await Promise.all([
      repository.writeTimings([timing(3, 900)]),
      repository.writeTimings([timing(2, 45_000)]),
    ]);
    await repository.writeTimings([{ ...timing(1, 4), route: `/${'x'.repeat(100)}` }]);

    const rows = await database.sql.rows<{
      route: string;
      requests: number;
      response_ms_sum: string;
      rt_histogram: number[];
    }>(
      'SELECT route, requests, response_ms_sum, rt_histogram FROM sms_request_timings WHERE minute = $1 ORDER BY route',
      [minute],
    );
    const expected = emptyHistogram();
    expected[bucketOf(4)] = 3;
    expected[bucketOf(900)] = 1;
    expected[bucketOf(45_000)] = 1;
    expect(rows).toEqual([
      {
        route: `/${'x'.repeat(63)}`,
        requests: 1,
        response_ms_sum: '100',
        rt_histogram: expect.any(Array),
      },
      {
        route: 'POST /sms/send-verification',
        requests: 5,
        response_ms_sum: '200',
        rt_histogram: expected,
      },
    ]);
  });

  it("replaces a sent event's estimate with the price once, and moves its hourly rollup by the difference", async () => {
    const sid = `SM${randomUUID().replace(/-/g, '')}`;
    await repository.write([
      event({ country: 'UG', providerSid: sid, occurredAt: at(1_800), cost: 0.05 }),
      event({ country: 'UG', cost: 0.05 }),
      event({ country: 'UG', status: 'delivered', providerSid: sid, cost: undefined }),
    ]);
    const price = {
      sid,
      amount: 0.0325,
      currency: 'USD',
      countryCode: 'UG',
      purpose: 'login',
      estimatedCost: '0.050000',
    };

    expect(await repository.replaceEstimatedCost(price)).toBe(true);
    const sent = `${HOUR.toISOString()} sent twilio-messaging`;
    expect((await rollups('UG'))[sent]).toMatchObject({
      events: 2,
      cost: '0.082500',
      estimated_cost_events: 1,
    });
    const [stored] = await database.sql.rows<{ cost: string; cost_source: string }>(
      `SELECT cost, cost_source FROM sms_events WHERE provider_sid = $1 AND status = 'sent'`,
      [sid],
    );
    expect(stored).toEqual({ cost: '0.032500', cost_source: 'twilio' });

    // Polled again (another instance, or a retry): the price is in already.
    expect(await repository.replaceEstimatedCost(price)).toBe(false);
    expect(await repository.replaceEstimatedCost({ ...price, sid: 'SMunknown' })).toBe(false);
    expect((await rollups('UG'))[sent]).toMatchObject({
      cost: '0.082500',
      estimated_cost_events: 1,
    });
  });

  it('swaps the estimate of a message sent without a purpose, in the rollup of unknown purposes', async () => {
    const sid = `SM${randomUUID().replace(/-/g, '')}`;
    await repository.write([event({ country: 'TZ', providerSid: sid, purpose: undefined })]);
    expect(
      await repository.replaceEstimatedCost({
        sid,
        amount: 0.01,
        currency: 'USD',
        countryCode: 'TZ',
        purpose: null,
        estimatedCost: '0.050000',
      }),
    ).toBe(true);
    const [rollup] = await database.sql.rows<{ purpose: string; cost: string; estimated: number }>(
      `SELECT purpose, cost, estimated_cost_events AS estimated FROM sms_event_rollups
        WHERE country_code = 'TZ'`,
    );
    expect(rollup).toEqual({ purpose: '-', cost: '0.010000', estimated: 0 });
  });
});
