import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Client } from 'pg';
import supertest from 'supertest';
import { FakeTwilioServer } from '../fakes/fake-twilio-server';
import { DatabaseFront } from '../support/database-front';
import { createEmptyDatabase, createTestDatabase, dropTestDatabase } from '../support/databases';
import { startFakeTwilio } from '../support/fake-twilio-app';
import {
  ServiceProcess,
  ServiceProcesses,
  describeOutput,
  isRunning,
  logEntries,
  serviceEnvironment,
} from '../support/service-process';
import { deleteRedisKeys } from '../support/test-app';
import { TEST_DATABASE_URL, TEST_REDIS_URL } from '../support/test-environment';
import { Traffic } from '../support/traffic';

/**
 * ANALYTICS_DB_URL refusing connections for several price-poll intervals, under traffic, on the
 * compiled service as a process. Before, the price poll's rejection went unhandled and ended the
 * process at its first tick of the outage, though nothing a user does needs that database.
 */

const PRICE_POLL_INTERVAL_MS = 1_000;
const OUTAGE_MS = 5 * PRICE_POLL_INTERVAL_MS;
/** Events buffered during the outage are written within this once the database is back. */
const CATCH_UP_WITHIN_MS = 15_000;

let phoneCounter = 0;
function nextPhone(): string {
  phoneCounter += 1;
  return `+2519${String(40_000_000 + phoneCounter)}`;
}

describe('The analytics database refuses connections for longer than the price-poll interval', () => {
  const services = new ServiceProcesses();
  const redisKeyPrefix = `test:analytics-down:${randomBytes(6).toString('hex')}:`;
  const frontDirectory = mkdtempSync(join(tmpdir(), 'sms-analytics-front-'));
  let main: { name: string; url: string };
  let analytics: { name: string; url: string };
  let front: DatabaseFront;
  let fake: FakeTwilioServer;
  let service: ServiceProcess;
  let traffic: Traffic;
  let down = 0;
  let up = 0;

  /** Sends recorded as `sent` events in the analytics database. */
  async function sentEvents(): Promise<number> {
    const client = new Client({ connectionString: analytics.url });
    await client.connect();
    try {
      const { rows } = await client.query<{ sent: number }>(
        `SELECT count(*)::int AS sent FROM sms_events WHERE status = 'sent'`,
      );
      return rows[0].sent;
    } finally {
      await client.end();
    }
  }

  beforeAll(async () => {
    [main, analytics] = await Promise.all([createTestDatabase(), createEmptyDatabase()]);
    const server = new URL(TEST_DATABASE_URL);
    front = await DatabaseFront.start(frontDirectory, {
      host: server.hostname,
      port: Number(server.port || 5432),
    });
    fake = await startFakeTwilio();
    service = await services.startServing(
      serviceEnvironment({
        databaseUrl: main.url,
        redisKeyPrefix,
        fake,
        extra: {
          ANALYTICS_DB_URL: front.url(
            decodeURIComponent(server.username),
            'unused',
            analytics.name,
          ),
          ANALYTICS_FLUSH_INTERVAL_MS: '200',
          TWILIO_PRICE_POLL_INTERVAL_MS: String(PRICE_POLL_INTERVAL_MS),
          TWILIO_PRICE_FETCH_DELAY_MS: '0',
          ALERT_EVALUATION_INTERVAL_MS: '1000',
          RETENTION_INTERVAL_MS: '1000',
          BACKGROUND_RETRY_MAX_MS: '1000',
        },
      }),
    );
    traffic = new Traffic({ http: () => supertest.agent(service.baseUrl) }, fake, {
      nextPhone,
      purpose: 'registration',
      answerWithinMs: 5_000,
    });

    traffic.start();
    await sleep(1_000);
    await front.setMode('stale');
    down = Date.now();
    await sleep(OUTAGE_MS);
    await front.setMode('forward');
    up = Date.now();
    await sleep(1_000);
    await traffic.stop();
    const deadline = Date.now() + CATCH_UP_WITHIN_MS;
    while ((await sentEvents()) < traffic.accepted.size && Date.now() < deadline) await sleep(200);
    const recovered = () =>
      new Set(
        logEntries(service)
          .filter((entry) => entry.failedRuns !== undefined)
          .map((entry) => entry.task),
      );
    while (recovered().size < 4 && Date.now() < deadline) await sleep(200);
  }, 120_000);

  afterAll(async () => {
    await traffic?.stop();
    await services.cleanUp();
    await fake?.stop();
    await front?.stop();
    rmSync(frontDirectory, { recursive: true, force: true });
    await Promise.all([main, analytics].filter(Boolean).map(({ name }) => dropTestDatabase(name)));
    await deleteRedisKeys(TEST_REDIS_URL, redisKeyPrefix);
  });

  it('lives through it', () => {
    if (!isRunning(service)) throw new Error(`the process exited${describeOutput(service)}`);
    const strays = logEntries(service).filter((entry) =>
      /^(Unhandled promise rejection|Uncaught exception)/.test(String(entry.msg)),
    );
    expect(strays).toEqual([]);
  });

  it('keeps sending codes meanwhile: users never need that database', () => {
    const whileDown = traffic.exchanges.filter(
      ({ route, startedAt, finishedAt }) =>
        route === 'send' && startedAt >= down && finishedAt <= up,
    );
    expect(whileDown.length).toBeGreaterThan(10);
    expect(whileDown.filter(({ status }) => status !== 200)).toEqual([]);
  });

  it('writes the events of the outage once the database is back', async () => {
    // Every answered send has its event; a send the client gave up waiting for (status 0, on a
    // busy machine) may have gone out too, and then has one as well.
    const unanswered = traffic.exchanges.filter(
      (exchange) => exchange.route === 'send' && exchange.status === 0,
    ).length;
    const sent = await sentEvents();
    expect(sent).toBeGreaterThanOrEqual(traffic.accepted.size);
    expect(sent).toBeLessThanOrEqual(traffic.accepted.size + unanswered);
  });

  it('logs the refusal once per background task, by its code, and each recovery', () => {
    const taskLines = logEntries(service).filter((entry) => typeof entry.task === 'string');
    const refusals = taskLines.filter((entry) => entry.errorCode === 'ECONNREFUSED');
    expect(refusals.map((entry) => entry.task).sort()).toEqual([
      'Twilio price poll',
      'alert evaluation',
      'analytics writes',
      'retention',
    ]);
    const recoveries = taskLines.filter((entry) => entry.failedRuns !== undefined);
    expect(new Set(recoveries.map((entry) => entry.task))).toEqual(
      new Set(refusals.map((entry) => entry.task)),
    );
  });
});
