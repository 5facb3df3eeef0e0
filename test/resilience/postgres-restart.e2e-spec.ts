import { Client } from 'pg';
import { FakeTwilioServer } from '../fakes/fake-twilio-server';
import { messagingEnv, startFakeTwilio } from '../support/fake-twilio-app';
import { PrivatePostgres } from '../support/private-postgres';
import { TestApp, startTestApp } from '../support/test-app';
import {
  Exchange,
  OutageTimeline,
  Traffic,
  durationOf,
  runThroughOutage,
} from '../support/traffic';

/** Every request must be answered within this, database up or down. */
const ANSWER_WITHIN_MS = 4_000;
/** After PostgreSQL is back, the pool must serve again within this, without a restart of ours. */
const RECOVERY_WITHIN_MS = 15_000;
const OUTAGE_MS = 3_000;
/** Trust authentication accepts any password: this one must never reach a log line. */
const DATABASE_PASSWORD = 'db-password-never-logged-3f9a';

let phoneCounter = 0;
/** A fresh Ethiopian mobile number per send, so no two sends share a verification. */
function nextPhone(): string {
  phoneCounter += 1;
  return `+2519170${String(phoneCounter).padStart(5, '0')}`;
}

async function queryPrivateDatabase<T>(url: string, text: string, values: unknown[]): Promise<T[]> {
  const client = new Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query(text, values)).rows as T[];
  } finally {
    await client.end();
  }
}

describe('PostgreSQL restarted under traffic', () => {
  let postgres: PrivatePostgres;
  let databaseUrl: string;
  let fake: FakeTwilioServer;
  let service: TestApp;
  let traffic: Traffic;
  /** The timeline of the outage, in Date.now() milliseconds. */
  let timeline: OutageTimeline;
  let probesWhileDown: Exchange[];

  beforeAll(async () => {
    postgres = await PrivatePostgres.create();
    databaseUrl = await postgres.createDatabase('sms');
    const withPassword = new URL(databaseUrl);
    withPassword.password = DATABASE_PASSWORD;
    fake = await startFakeTwilio();
    service = await startTestApp({
      databaseUrl: withPassword.toString(),
      skipAccountFilter: true,
      env: messagingEnv(fake, { DATABASE_MIGRATIONS_RUN: 'true' }),
    });
    traffic = new Traffic(service, fake, {
      nextPhone,
      purpose: 'login',
      answerWithinMs: ANSWER_WITHIN_MS,
    });

    ({ timeline, probesWhileDown } = await runThroughOutage(
      traffic,
      {
        stop: () => postgres.stop(),
        start: () => postgres.start(),
      },
      { outageMs: OUTAGE_MS, recoveryWithinMs: RECOVERY_WITHIN_MS },
    ));
  }, 90_000);

  afterAll(async () => {
    try {
      await traffic?.stop();
      await service?.close();
      await fake?.stop();
    } finally {
      await postgres?.destroy();
    }
  });

  it('answers every request with 200 or 503, within seconds, never 500', () => {
    const unexpected = traffic.exchanges.filter(
      (exchange) => exchange.status !== 200 && exchange.status !== 503,
    );
    expect(unexpected.map(({ route, status, body }) => ({ route, status, body }))).toEqual([]);
    const slow = traffic.exchanges.filter((exchange) => durationOf(exchange) >= ANSWER_WITHIN_MS);
    expect(
      slow.map(({ route, status, ...times }) => ({ route, status, ms: durationOf(times) })),
    ).toEqual([]);
  });

  it('answers sends and checks with 503 in the error envelope with Retry-After while down', () => {
    const whileDown = traffic.exchanges.filter(
      (exchange) =>
        exchange.startedAt >= timeline.down && exchange.finishedAt <= timeline.startRequested,
    );
    expect(whileDown.filter((exchange) => exchange.route === 'send').length).toBeGreaterThan(10);
    expect(whileDown.some((exchange) => exchange.route === 'verify')).toBe(true);
    const answered = whileDown.filter(({ route }) => route === 'send' || route === 'verify');
    expect(answered.filter((exchange) => exchange.status !== 503)).toEqual([]);
    const unavailable = traffic.exchanges.filter(
      ({ route, status }) => (route === 'send' || route === 'verify') && status === 503,
    );
    for (const exchange of unavailable) {
      expect(exchange.body).toEqual({
        success: false,
        error: 'SERVICE_UNAVAILABLE',
        message: expect.any(String),
        retryAfter: expect.any(Number),
      });
      expect(exchange.retryAfter).toBe(String(exchange.body.retryAfter));
    }
  });

  it('stays live but not ready while PostgreSQL is down', () => {
    const [live, ready] = probesWhileDown;
    expect(live.status).toBe(200);
    expect(ready.status).toBe(503);
    expect(ready.body).toMatchObject({
      details: { database: { status: 'down', message: 'The database is unreachable' } },
    });
    // The probe is public: nothing about where the database is.
    expect(JSON.stringify(ready.body)).not.toContain(String(postgres.port));
  });

  it('serves again on its own soon after PostgreSQL is back', () => {
    expect(timeline.recovered).toBeGreaterThan(0);
    expect(timeline.recovered - timeline.up).toBeLessThan(RECOVERY_WITHIN_MS);
    const afterRecovery = traffic.exchanges.filter(
      (exchange) => exchange.startedAt > timeline.recovered,
    );
    expect(afterRecovery.filter((exchange) => exchange.route === 'send').length).toBeGreaterThan(5);
    expect(afterRecovery.filter((exchange) => exchange.status !== 200)).toEqual([]);
  });

  it('stored every send it accepted', async () => {
    const acceptedSids = [...traffic.accepted.values()];
    expect(acceptedSids.length).toBeGreaterThan(20);

    const rows = await queryPrivateDatabase<{ twilio_sid: string; status: string }>(
      databaseUrl,
      `SELECT twilio_sid, status FROM sms_verifications WHERE twilio_sid = ANY($1)`,
      [acceptedSids],
    );

    expect(rows.map((row) => row.twilio_sid).sort()).toEqual([...acceptedSids].sort());
    for (const row of rows) expect(['pending', 'verified']).toContain(row.status);
  });

  it('verifies the code of every accepted send', async () => {
    for (const outcome of await traffic.verifyTheRest()) {
      expect(outcome).toEqual({ phoneNumber: outcome.phoneNumber, status: 200, valid: true });
    }
    expect(traffic.verified.size).toBe(traffic.accepted.size);
  });

  it('logs the outage once per cause, with no secret or phone number', () => {
    const unavailableAnswers = traffic.exchanges.filter(({ status }) => status === 503).length;
    const outageLines = service.logs.filter((line) => line.msg === 'dependency unavailable');
    const causes = outageLines.map((line) => line.errorCode);
    expect(causes).toContain('ECONNREFUSED');
    expect(new Set(causes).size).toBe(causes.length);
    expect(outageLines.length).toBeLessThan(unavailableAnswers / 10);
    // The restart closed idle pooled connections too: a warning, not a crash.
    expect(service.logs.some((line) => line.msg === 'idle database connection lost')).toBe(true);
    expect(service.logs.filter((line) => line.msg === 'unhandled error')).toEqual([]);

    const logged = service.logs.map((line) => JSON.stringify(line));
    expect(logged.filter((line) => line.includes(DATABASE_PASSWORD))).toEqual([]);
    const phoneDigits = traffic.exchanges.flatMap(({ phoneNumber }) => phoneNumber?.slice(1) ?? []);
    expect(logged.filter((line) => phoneDigits.some((digits) => line.includes(digits)))).toEqual(
      [],
    );
  });
});
