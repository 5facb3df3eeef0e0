import { TestingModuleBuilder } from '@nestjs/testing';
import { Client } from 'pg';
import { AnalyticsDatabase } from '../../src/analytics/analytics-database';
import { Clock } from '../../src/common/clock';
import { Hasher } from '../../src/common/hasher';
import { Sql } from '../../src/database/sql';
import { REQUEST_TIMINGS_RETENTION_DAYS } from '../../src/analytics/events/sms-event.repository';
import {
  RetentionRun,
  RetentionService,
  RetentionTable,
} from '../../src/retention/retention.service';
import { FakeTwilioServer } from '../fakes/fake-twilio-server';
import {
  insertEvent,
  insertHold,
  insertMessage,
  insertRateLimitCounter,
  insertRefreshToken,
  insertRequestTiming,
  insertResponseTimeRollup,
  insertRollup,
  insertSuppression,
  insertVerification,
} from '../factories/stored-rows.factory';
import { createUser } from '../factories/user.factory';
import { createEmptyDatabase, dropTestDatabase } from '../support/databases';
import { FakeClock } from '../support/fake-clock';
import { messagingEnv, startFakeTwilio } from '../support/fake-twilio-app';
import { TestApp, startTestApp } from '../support/test-app';

const MINUTE_MS = 60_000;
const HOUR_MS = 3_600_000;
const DAY_MS = 86_400_000;
/** The defaults: SMS_VERIFICATION_RETENTION_DAYS=30, ANALYTICS_RETENTION_DAYS=395. */
const VERIFICATION_DAYS = 30;
const ANALYTICS_DAYS = 395;

const KEY_COLUMNS: Record<RetentionTable, string> = {
  sms_verifications: 'id',
  refresh_tokens: 'id',
  sms_holds: 'id',
  sms_suppressions: 'phone_hash',
  sms_rate_limits: 'id',
  sms_events: 'id',
  sms_event_rollups: 'country_code',
  sms_response_time_rollups: 'country_code',
  sms_messages: 'sid',
  sms_request_timings: 'route',
};

/** What `promise` settles to, or 'still running' after `milliseconds`. */
async function settledWithin<T>(
  promise: Promise<T>,
  milliseconds: number,
): Promise<T | 'still running'> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<'still running'>((resolve) => {
    timer = setTimeout(() => resolve('still running'), milliseconds);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

describe('Data retention', () => {
  const clock = new FakeClock();
  let fake: FakeTwilioServer;
  let first: TestApp;
  let second: TestApp;
  let phoneCounter = 0;
  let countryCounter = 0;

  // Cloning and dropping a database waits on a PostgreSQL server other suites share.
  beforeAll(async () => {
    fake = await startFakeTwilio({ now: () => clock.now().getTime() });
    const env = messagingEnv(fake, {
      RATE_LIMIT_STORE: 'postgres',
      RETENTION_BATCH_SIZE: '2',
      SMS_PUMPING_MODE: 'off',
    });
    const override = {
      override: (builder: TestingModuleBuilder) => builder.overrideProvider(Clock).useValue(clock),
    };
    first = await startTestApp({ env, skipAccountFilter: true, ...override });
    // A second instance of the service on the same database.
    second = await startTestApp({
      env,
      skipAccountFilter: true,
      databaseUrl: first.databaseUrl,
      redisKeyPrefix: first.redisKeyPrefix,
      ...override,
    });
  }, 30_000);
  afterAll(async () => {
    await second?.close();
    await first?.close();
    await fake?.stop();
  }, 30_000);

  const sql = () => first.app.get(Sql);
  const ago = (milliseconds: number) => new Date(clock.now().getTime() - milliseconds);
  const later = (milliseconds: number) => new Date(clock.now().getTime() + milliseconds);
  const nextPhone = () => `+2519140${String((phoneCounter += 1)).padStart(5, '0')}`;
  /** Two letters no other row of the file uses: rollups are told apart by country. */
  const nextCountry = () => {
    countryCounter += 1;
    return String.fromCharCode(65 + Math.floor(countryCounter / 26), 65 + (countryCounter % 26));
  };

  async function send(
    service: TestApp,
    phoneNumber: string,
  ): Promise<{ code: string; id: string }> {
    await service
      .http()
      .post('/sms/send-verification')
      .send({ phoneNumber, purpose: 'login', locale: 'en' })
      .expect(200);
    const message = fake.lastMessageTo(phoneNumber)!;
    const [row] = await sql().rows<{ id: string }>(
      `SELECT id FROM sms_verifications WHERE message_sid = $1`,
      [message.sid],
    );
    return { code: /(\d{6})/.exec(message.body)![1], id: row.id };
  }

  function verify(service: TestApp, phoneNumber: string, code: string) {
    return service.http().post('/sms/verify-code').send({ phoneNumber, code, purpose: 'login' });
  }

  /** The keys among `keys` that are still stored in `table`, sorted. */
  async function stored(table: RetentionTable, keys: string[]): Promise<string[]> {
    const column = KEY_COLUMNS[table];
    const rows = await sql().rows<{ key: string }>(
      `SELECT ${column}::text AS key FROM ${table} WHERE ${column}::text = ANY($1::text[])`,
      [keys],
    );
    return rows.map((row) => row.key).sort();
  }

  function completed(run: RetentionRun) {
    if (run.status !== 'completed') throw new Error('the retention run was skipped');
    expect(run.failed).toEqual([]);
    return run;
  }

  /**
   * Holds a lock on sms_event_rollups, which a run purges after every table of the main database,
   * until `release()`: a run that reaches it waits there, in progress and holding its lock.
   */
  async function blockRollups(): Promise<{
    untilRunWaits(): Promise<void>;
    release(): Promise<void>;
  }> {
    const blocker = new Client({ connectionString: first.databaseUrl });
    await blocker.connect();
    await blocker.query('BEGIN');
    await blocker.query('LOCK TABLE sms_event_rollups IN SHARE MODE');
    const {
      rows: [{ pid }],
    } = await blocker.query<{ pid: number }>('SELECT pg_backend_pid() AS pid');
    return {
      async untilRunWaits() {
        for (let polls = 0; polls < 500; polls += 1) {
          const [{ waiting }] = await sql().rows<{ waiting: number }>(
            `SELECT count(*)::int AS waiting FROM pg_stat_activity
              WHERE $1 = ANY(pg_blocking_pids(pid)) AND query LIKE '%DELETE FROM sms_event_rollups%'`,
            [pid],
          );
          if (waiting > 0) return;
          await new Promise((resolve) => setTimeout(resolve, 10));
        }
        throw new Error('no retention run reached sms_event_rollups');
      },
      async release() {
        await blocker.query('COMMIT').catch(() => undefined);
        await blocker.end();
      },
    };
  }

  it('deletes exactly what is past its retention and keeps live, pending and recent rows', async () => {
    // Codes sent and used through HTTP, then a month goes by.
    const abandonedPhone = nextPhone();
    const abandoned = await send(first, abandonedPhone);
    const verifiedPhone = nextPhone();
    const verified = await send(first, verifiedPhone);
    await verify(first, verifiedPhone, verified.code).expect(200);
    clock.advance((VERIFICATION_DAYS + 1) * DAY_MS);
    const livePhone = nextPhone();
    const live = await send(first, livePhone);

    const db = sql();
    const user = await createUser(first, { phoneNumber: nextPhone() });
    const pastVerificationRetention = (VERIFICATION_DAYS + 1) * DAY_MS;
    const withinVerificationRetention = (VERIFICATION_DAYS - 1) * DAY_MS;
    const analyticsCutoff = ago(ANALYTICS_DAYS * DAY_MS);
    const old: Record<RetentionTable, string[]> = {
      sms_verifications: [
        abandoned.id,
        verified.id,
        await insertVerification(db, {
          status: 'failed',
          createdAt: ago(40 * DAY_MS),
          expiresAt: ago(40 * DAY_MS - 5 * MINUTE_MS),
        }),
      ],
      refresh_tokens: [
        await insertRefreshToken(db, {
          userId: user.id,
          expiresAt: ago(pastVerificationRetention),
        }),
        await insertRefreshToken(db, {
          userId: user.id,
          expiresAt: later(60 * DAY_MS),
          revokedAt: ago(pastVerificationRetention),
        }),
      ],
      sms_holds: [
        await insertHold(db, {
          createdAt: ago(50 * DAY_MS),
          expiresAt: ago(pastVerificationRetention),
        }),
        await insertHold(db, {
          createdAt: ago(50 * DAY_MS),
          expiresAt: ago(49 * DAY_MS),
          liftedAt: ago(pastVerificationRetention),
        }),
      ],
      sms_suppressions: [
        await insertSuppression(db, { createdAt: ago(8 * DAY_MS), expiresAt: ago(MINUTE_MS) }),
      ],
      sms_rate_limits: [await insertRateLimitCounter(db, { expiresAt: ago(MINUTE_MS) })],
      sms_events: [await insertEvent(db, { occurredAt: ago((ANALYTICS_DAYS + 1) * DAY_MS) })],
      sms_event_rollups: [
        // Its hour ends exactly at the cutoff.
        await insertRollup(db, {
          bucket: new Date(analyticsCutoff.getTime() - HOUR_MS),
          countryCode: nextCountry(),
        }),
      ],
      sms_response_time_rollups: [
        await insertResponseTimeRollup(db, {
          bucket: new Date(analyticsCutoff.getTime() - HOUR_MS),
          countryCode: nextCountry(),
        }),
      ],
      sms_messages: [await insertMessage(db, { createdAt: ago((ANALYTICS_DAYS + 1) * DAY_MS) })],
      sms_request_timings: [
        await insertRequestTiming(db, {
          minute: ago((REQUEST_TIMINGS_RETENTION_DAYS * 24 + 1) * HOUR_MS),
          route: `/sms/old-${nextCountry()}`,
        }),
      ],
    };
    const kept: Record<RetentionTable, string[]> = {
      sms_verifications: [
        live.id,
        // Pending and unexpired, however old: never deleted.
        await insertVerification(db, {
          status: 'pending',
          createdAt: ago(100 * DAY_MS),
          expiresAt: later(5 * MINUTE_MS),
        }),
        await insertVerification(db, {
          status: 'pending',
          createdAt: ago(HOUR_MS),
          expiresAt: ago(HOUR_MS - 5 * MINUTE_MS),
        }),
        await insertVerification(db, {
          status: 'expired',
          createdAt: ago(withinVerificationRetention),
          expiresAt: ago(withinVerificationRetention - 5 * MINUTE_MS),
        }),
      ],
      refresh_tokens: [
        await insertRefreshToken(db, { userId: user.id, expiresAt: later(DAY_MS) }),
        await insertRefreshToken(db, {
          userId: user.id,
          expiresAt: ago(withinVerificationRetention),
        }),
        await insertRefreshToken(db, {
          userId: user.id,
          expiresAt: later(60 * DAY_MS),
          revokedAt: ago(DAY_MS),
        }),
        // Used long ago but not yet expired: presenting it again must still revoke its family.
        await insertRefreshToken(db, {
          userId: user.id,
          expiresAt: later(60 * DAY_MS),
          usedAt: ago(pastVerificationRetention),
        }),
      ],
      sms_holds: [
        await insertHold(db, { createdAt: ago(HOUR_MS), expiresAt: later(5 * HOUR_MS) }),
        await insertHold(db, {
          createdAt: ago(2 * DAY_MS),
          expiresAt: later(DAY_MS),
          liftedAt: ago(DAY_MS),
        }),
      ],
      sms_suppressions: [
        await insertSuppression(db, { createdAt: ago(DAY_MS), expiresAt: later(6 * DAY_MS) }),
      ],
      sms_rate_limits: [await insertRateLimitCounter(db, { expiresAt: later(MINUTE_MS) })],
      sms_events: [await insertEvent(db, { occurredAt: ago((ANALYTICS_DAYS - 1) * DAY_MS) })],
      sms_event_rollups: [
        // Part of its hour is within the retention.
        await insertRollup(db, {
          bucket: new Date(analyticsCutoff.getTime() - HOUR_MS + MINUTE_MS),
          countryCode: nextCountry(),
        }),
      ],
      sms_response_time_rollups: [
        await insertResponseTimeRollup(db, {
          bucket: new Date(analyticsCutoff.getTime() - HOUR_MS + MINUTE_MS),
          countryCode: nextCountry(),
        }),
      ],
      sms_messages: [await insertMessage(db, { createdAt: ago((ANALYTICS_DAYS - 1) * DAY_MS) })],
      sms_request_timings: [
        await insertRequestTiming(db, {
          minute: ago((REQUEST_TIMINGS_RETENTION_DAYS * 24 - 1) * HOUR_MS),
          route: `/sms/kept-${nextCountry()}`,
        }),
      ],
    };

    const run = completed(await first.app.get(RetentionService).runOnce());

    // Every module registered the purge of its table, and every purged table is tested here.
    expect(Object.keys(run.deleted).sort()).toEqual(Object.keys(KEY_COLUMNS).sort());
    for (const table of Object.keys(KEY_COLUMNS) as RetentionTable[]) {
      expect({ table, stored: await stored(table, [...old[table], ...kept[table]]) }).toEqual({
        table,
        stored: [...kept[table]].sort(),
      });
    }
    // The live code still works, and the abandoned number gets a new one.
    await verify(first, livePhone, live.code).expect(200);
    const renewed = await send(first, abandonedPhone);
    await verify(first, abandonedPhone, renewed.code).expect(200);
  });

  it('logs one summary line per run with counts per table, and no phone number', async () => {
    const phoneNumber = nextPhone();
    await send(first, phoneNumber);
    clock.advance((VERIFICATION_DAYS + 1) * DAY_MS);
    const run = completed(await first.app.get(RetentionService).runOnce());

    // Nest's Logger is process-wide: the app created last writes every instance's lines.
    const summary = [...first.logs, ...second.logs].filter((line) =>
      /^retention: deleted \d+ rows/.test(String(line.msg)),
    );
    expect(summary.at(-1)).toMatchObject({
      level: 30,
      retention: { deleted: run.deleted, failed: [], durationMs: expect.any(Number) },
    });
    expect(run.deleted.sms_verifications).toBeGreaterThanOrEqual(1);
    const written = JSON.stringify(summary);
    expect(written).not.toContain(phoneNumber);
    expect(written).not.toContain(phoneNumber.slice(4));
  });

  it('deletes every old row in batches of RETENTION_BATCH_SIZE (2 here)', async () => {
    const db = sql();
    const user = await createUser(first, { phoneNumber: nextPhone() });
    const old = {
      sms_verifications: [],
      refresh_tokens: [],
      sms_events: [],
      sms_messages: [],
    } as Record<'sms_verifications' | 'refresh_tokens' | 'sms_events' | 'sms_messages', string[]>;
    for (let index = 0; index < 7; index += 1) {
      old.sms_verifications.push(
        await insertVerification(db, {
          status: 'verified',
          createdAt: ago(40 * DAY_MS),
          expiresAt: ago(40 * DAY_MS - 5 * MINUTE_MS),
        }),
      );
      old.refresh_tokens.push(
        await insertRefreshToken(db, { userId: user.id, expiresAt: ago(40 * DAY_MS) }),
      );
      old.sms_events.push(await insertEvent(db, { occurredAt: ago(400 * DAY_MS) }));
      old.sms_messages.push(await insertMessage(db, { createdAt: ago(400 * DAY_MS) }));
    }

    const run = completed(await first.app.get(RetentionService).runOnce());

    for (const [table, keys] of Object.entries(old) as [RetentionTable, string[]][]) {
      expect({ table, stored: await stored(table, keys) }).toEqual({ table, stored: [] });
      expect(run.deleted[table]).toBeGreaterThanOrEqual(7);
    }
  });

  it('runs on one instance at a time: a second one asking meanwhile skips, and nothing breaks', async () => {
    const oldEvent = await insertEvent(sql(), { occurredAt: ago(400 * DAY_MS) });
    const oldVerification = await insertVerification(sql(), {
      status: 'expired',
      createdAt: ago(40 * DAY_MS),
      expiresAt: ago(40 * DAY_MS - 5 * MINUTE_MS),
    });
    const rollups = await blockRollups();
    let firstRun: Promise<RetentionRun> | undefined;
    try {
      firstRun = first.app.get(RetentionService).runOnce();
      await rollups.untilRunWaits();
      // Waiting for the lock instead of skipping would leave it 'still running'.
      expect(await settledWithin(second.app.get(RetentionService).runOnce(), 1_000)).toEqual({
        status: 'skipped',
      });
      await expect(first.app.get(RetentionService).runOnce()).resolves.toEqual({
        status: 'skipped',
      });
    } finally {
      await rollups.release();
    }
    completed(await firstRun!);
    expect(await stored('sms_events', [oldEvent])).toEqual([]);
    expect(await stored('sms_verifications', [oldVerification])).toEqual([]);

    // The lock went with the run: the other instance runs next time, and both still serve.
    completed(await second.app.get(RetentionService).runOnce());
    for (const service of [first, second]) {
      const phoneNumber = nextPhone();
      const { code } = await send(service, phoneNumber);
      await verify(service, phoneNumber, code).expect(200);
    }
  });

  it('never makes a send wait, even for a number whose old verification it is deleting', async () => {
    const phoneNumber = nextPhone();
    // Never used, so still "pending" long after its code expired; the send must replace it.
    const abandoned = await insertVerification(sql(), {
      status: 'pending',
      phoneNumberHash: first.app.get(Hasher).hash('phone', phoneNumber),
      createdAt: ago(40 * DAY_MS),
      expiresAt: ago(40 * DAY_MS - 5 * MINUTE_MS),
    });
    const rollups = await blockRollups();
    let run: Promise<RetentionRun> | undefined;
    try {
      run = second.app.get(RetentionService).runOnce();
      await rollups.untilRunWaits();
      // The run is in progress (it is waiting at its last tables); the send goes through now.
      await first
        .http()
        .post('/sms/send-verification')
        .send({ phoneNumber, purpose: 'login', locale: 'en' })
        .timeout(2_000)
        .expect(200);
    } finally {
      await rollups.release();
    }
    completed(await run!);
    expect(await stored('sms_verifications', [abandoned])).toEqual([]);
    const code = /(\d{6})/.exec(fake.lastMessageTo(phoneNumber)!.body)![1];
    await verify(first, phoneNumber, code).expect(200);
  });
});

describe('Data retention with analytics in their own database (ANALYTICS_DB_URL)', () => {
  const clock = new FakeClock();
  let analyticsDatabase: { name: string; url: string };
  let service: TestApp;

  beforeAll(async () => {
    analyticsDatabase = await createEmptyDatabase();
    service = await startTestApp({
      env: { ANALYTICS_DB_URL: analyticsDatabase.url },
      override: (builder) => builder.overrideProvider(Clock).useValue(clock),
    });
  }, 30_000);
  afterAll(async () => {
    await service?.close();
    if (analyticsDatabase) await dropTestDatabase(analyticsDatabase.name);
  }, 30_000);

  it('purges the analytics tables there', async () => {
    const analytics = service.app.get(AnalyticsDatabase);
    const ago = (days: number) => new Date(clock.now().getTime() - days * DAY_MS);
    const oldEvent = await insertEvent(analytics, { occurredAt: ago(ANALYTICS_DAYS + 1) });
    const recentEvent = await insertEvent(analytics, { occurredAt: ago(ANALYTICS_DAYS - 1) });
    const oldMessage = await insertMessage(analytics, { createdAt: ago(ANALYTICS_DAYS + 1) });
    const oldRollup = await insertRollup(analytics, {
      bucket: ago(ANALYTICS_DAYS + 1),
      countryCode: 'ET',
    });

    const run = await service.app.get(RetentionService).runOnce();

    expect(run).toMatchObject({ status: 'completed', failed: [] });
    const [left] = await analytics.rows<{ events: string[]; messages: number; rollups: number }>(
      `SELECT (SELECT array_agg(id::text) FROM sms_events WHERE id = ANY($1::uuid[])) AS events,
              (SELECT count(*)::int FROM sms_messages WHERE sid = $2) AS messages,
              (SELECT count(*)::int FROM sms_event_rollups WHERE country_code = $3) AS rollups`,
      [[oldEvent, recentEvent], oldMessage, oldRollup],
    );
    expect(left).toEqual({ events: [recentEvent], messages: 0, rollups: 0 });
  });
});
