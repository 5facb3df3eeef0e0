import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import supertest from 'supertest';
import { FakeTwilioServer } from '../fakes/fake-twilio-server';
import { DatabaseFront, FrontMode } from '../support/database-front';
import { startFakeTwilio } from '../support/fake-twilio-app';
import { PrivatePostgres } from '../support/private-postgres';
import {
  ServiceProcess,
  ServiceProcesses,
  describeOutput,
  isRunning,
  logEntries,
  serviceEnvironment,
} from '../support/service-process';
import { deleteRedisKeys } from '../support/test-app';
import { TEST_REDIS_URL } from '../support/test-environment';
import { Exchange, Traffic, durationOf } from '../support/traffic';

/**
 * The compiled service as a real process, its PostgreSQL made unreachable in every way this test
 * can produce, one after the other, under traffic. Each outage lasts longer than every background
 * interval (all set short here), so the price poll, the alert evaluation, retention and the
 * analytics writes all fail during it: before, the price poll's rejection went unhandled and
 * ended the process at its first tick, and a refused login (wrong password, role, database) or a
 * vanished socket answered 500.
 *
 * The service reaches PostgreSQL through a unix socket in front of a private cluster
 * (test/support/database-front.ts), which fails the socket-level ways; the cluster itself is
 * reconfigured for the ways PostgreSQL refuses a login.
 */

/** Longer than every background interval below and than the longest back-off. */
const OUTAGE_MS = 4_000;
const BACKGROUND_INTERVALS = {
  ANALYTICS_FLUSH_INTERVAL_MS: '200',
  TWILIO_PRICE_POLL_INTERVAL_MS: '1000',
  TWILIO_PRICE_FETCH_DELAY_MS: '0',
  ALERT_EVALUATION_INTERVAL_MS: '1000',
  RETENTION_INTERVAL_MS: '1000',
  BACKGROUND_RETRY_MAX_MS: '1000',
};
/** Every request is answered within this, database up or down (the pool's connect timeout is 3 s). */
const ANSWER_WITHIN_MS = 6_000;
/** After the database is back, sends succeed again within this, without a restart. */
const RECOVERY_WITHIN_MS = 15_000;

const ROLE = 'sms_app';
const PASSWORD = 'app-password-4d1c';
const DATABASE = 'sms';

let phoneCounter = 0;
/** A fresh Ethiopian mobile number per send, so no two sends share a verification. */
function nextPhone(): string {
  phoneCounter += 1;
  return `+2519${String(30_000_000 + phoneCounter)}`;
}

interface Way {
  name: string;
  /** The codes the service may log for it. */
  causes: string[];
  break(): Promise<void>;
  mend(): Promise<void>;
}

interface Outcome {
  /** Date.now() when the test began to make the database unreachable, when it was, and when it was back. */
  breakStarted: number;
  broken: number;
  mended: number;
  /** The first send answered 200 after `mended`; 0 if none within RECOVERY_WITHIN_MS. */
  recovered: number;
  whileDown: Exchange[];
  live: Exchange;
  ready: Exchange;
}

describe('PostgreSQL unreachable in every way, for longer than every background interval', () => {
  const services = new ServiceProcesses();
  const redisKeyPrefix = `test:db-unreachable:${randomBytes(6).toString('hex')}:`;
  const frontDirectory = mkdtempSync(join(tmpdir(), 'sms-db-front-'));
  let postgres: PrivatePostgres;
  let front: DatabaseFront;
  let fake: FakeTwilioServer;
  let service: ServiceProcess;
  let traffic: Traffic;
  const outcomes = new Map<string, Outcome>();

  /** Sessions of the service end at once, as when a server restarts: new ones meet the change. */
  const dropSessions = () =>
    postgres.query(`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = $1`, [
      ROLE,
    ]);
  const frontMode = (mode: FrontMode) => () => front.setMode(mode);
  const onCluster =
    (...statements: string[]) =>
    async () => {
      for (const statement of statements) await postgres.query(statement);
      await dropSessions();
    };

  const WAYS: Way[] = [
    {
      name: 'its unix socket vanished (the server stopped)',
      causes: ['ENOENT'],
      break: frontMode('vanished'),
      mend: frontMode('forward'),
    },
    {
      name: 'nothing listens on its socket (the server crashed)',
      causes: ['ECONNREFUSED'],
      break: frontMode('stale'),
      mend: frontMode('forward'),
    },
    {
      name: 'it closes every connection at once',
      causes: ['connection terminated'],
      break: frontMode('closing'),
      mend: frontMode('forward'),
    },
    {
      name: 'it accepts connections and never answers',
      // The connecting client's own timeout, or the pool's for a request waiting for it.
      causes: ['connection terminated', 'pool connect timeout'],
      break: frontMode('silent'),
      mend: frontMode('forward'),
    },
    {
      name: 'the database system is starting up (57P03)',
      causes: ['57P03'],
      break: frontMode('starting-up'),
      mend: frontMode('forward'),
    },
    {
      name: 'the database does not accept connections (ALLOW_CONNECTIONS false, 55000)',
      causes: ['55000'],
      break: onCluster(`ALTER DATABASE ${DATABASE} ALLOW_CONNECTIONS false`),
      mend: onCluster(`ALTER DATABASE ${DATABASE} ALLOW_CONNECTIONS true`),
    },
    {
      name: 'too many connections (CONNECTION LIMIT 0, 53300)',
      causes: ['53300'],
      break: onCluster(`ALTER DATABASE ${DATABASE} CONNECTION LIMIT 0`),
      mend: onCluster(`ALTER DATABASE ${DATABASE} CONNECTION LIMIT -1`),
    },
    {
      name: 'the database was renamed (3D000)',
      causes: ['3D000'],
      break: async () => {
        await postgres.query(`ALTER DATABASE ${DATABASE} ALLOW_CONNECTIONS false`);
        await dropSessions();
        await postgres.query(`ALTER DATABASE ${DATABASE} RENAME TO ${DATABASE}_moved`);
        await postgres.query(`ALTER DATABASE ${DATABASE}_moved ALLOW_CONNECTIONS true`);
      },
      mend: async () => {
        await postgres.query(`ALTER DATABASE ${DATABASE}_moved RENAME TO ${DATABASE}`);
      },
    },
    {
      name: 'the role may no longer log in (NOLOGIN, 28000)',
      causes: ['28000'],
      break: onCluster(`ALTER ROLE ${ROLE} NOLOGIN`),
      mend: onCluster(`ALTER ROLE ${ROLE} LOGIN`),
    },
    {
      name: "the role's password changed (28P01)",
      causes: ['28P01'],
      break: onCluster(`ALTER ROLE ${ROLE} PASSWORD 'rotated-elsewhere-77'`),
      mend: onCluster(`ALTER ROLE ${ROLE} PASSWORD '${PASSWORD}'`),
    },
  ];

  async function runThrough(way: Way): Promise<Outcome> {
    const breakStarted = Date.now();
    await way.break();
    const broken = Date.now();
    await sleep(OUTAGE_MS / 2);
    const live = await traffic.probe('live');
    const ready = await traffic.probe('ready');
    await sleep(OUTAGE_MS / 2);
    const mendStarted = Date.now();
    await way.mend();
    const mended = Date.now();
    let recovered = 0;
    while (!recovered && Date.now() - mended < RECOVERY_WITHIN_MS) {
      const send = await traffic.send();
      if (send.status === 200 && send.startedAt >= mended) recovered = send.finishedAt;
      else await sleep(100);
    }
    await sleep(500);
    const whileDown = traffic.exchanges.filter(
      (exchange) => exchange.startedAt >= broken && exchange.finishedAt <= mendStarted,
    );
    return { breakStarted, broken, mended, recovered, whileDown, live, ready };
  }

  /** Background tasks whose last log line is a failure, not their recovery. */
  function tasksStillFailing(): string[] {
    const last = new Map<string, Record<string, unknown>>();
    for (const entry of logEntries(service)) {
      if (typeof entry.task === 'string') last.set(entry.task, entry);
    }
    return [...last].filter(([, entry]) => entry.failedRuns === undefined).map(([task]) => task);
  }

  beforeAll(async () => {
    postgres = await PrivatePostgres.create();
    await postgres.query(`CREATE ROLE ${ROLE} LOGIN PASSWORD '${PASSWORD}'`);
    await postgres.query(`CREATE DATABASE ${DATABASE} OWNER ${ROLE}`);
    // The role logs in with its password, so that changing it locks the service out.
    await postgres.prependHba(`host all ${ROLE} 127.0.0.1/32 scram-sha-256`);
    front = await DatabaseFront.start(frontDirectory, { host: '127.0.0.1', port: postgres.port });
    fake = await startFakeTwilio();
    service = await services.startServing(
      serviceEnvironment({
        databaseUrl: front.url(ROLE, PASSWORD, DATABASE),
        redisKeyPrefix,
        fake,
        extra: { DATABASE_MIGRATIONS_RUN: 'true', ...BACKGROUND_INTERVALS },
      }),
    );
    traffic = new Traffic({ http: () => supertest.agent(service.baseUrl) }, fake, {
      nextPhone,
      purpose: 'registration',
      answerWithinMs: ANSWER_WITHIN_MS,
    });

    traffic.start();
    await sleep(1_500);
    for (const way of WAYS) outcomes.set(way.name, await runThrough(way));
    await traffic.stop();
    const deadline = Date.now() + RECOVERY_WITHIN_MS;
    while (tasksStillFailing().length > 0 && Date.now() < deadline) await sleep(200);
  }, 300_000);

  afterAll(async () => {
    await traffic?.stop();
    await services.cleanUp();
    await fake?.stop();
    await front?.stop();
    await postgres?.destroy();
    rmSync(frontDirectory, { recursive: true, force: true });
    await deleteRedisKeys(TEST_REDIS_URL, redisKeyPrefix);
  });

  it('lives through every outage, and never answers 500 nor leaves a request unanswered', () => {
    expect(isRunning(service)).toBe(true);
    // A code check answered 503 may still have approved the code: when every connection is cut
    // at once, a commit can land while its answer is lost on the way back. The same code tried
    // again is then spent (404), as it must be: a code is approved once, never twice.
    const retriedAfterOutage = (exchange: Exchange) =>
      exchange.route === 'verify' &&
      exchange.status === 404 &&
      traffic.exchanges.some(
        (earlier) =>
          earlier.route === 'verify' &&
          earlier.phoneNumber === exchange.phoneNumber &&
          earlier.finishedAt <= exchange.startedAt &&
          (earlier.status === 503 || earlier.status === 0),
      );
    const unexpected = traffic.exchanges.filter(
      (exchange) =>
        exchange.status !== 200 && exchange.status !== 503 && !retriedAfterOutage(exchange),
    );
    expect(unexpected.map(({ route, status, body }) => ({ route, status, body }))).toEqual([]);
    const entries = logEntries(service);
    const problems = entries.filter(
      (entry) =>
        entry.msg === 'unhandled error' ||
        String(entry.msg).startsWith('Unhandled promise rejection') ||
        String(entry.msg).startsWith('Uncaught exception'),
    );
    expect(problems).toEqual([]);
  });

  describe.each(WAYS.map((way) => [way.name, way] as const))('when %s', (_name, way) => {
    it('answers sends and code checks with 503 in the envelope with Retry-After, within seconds', () => {
      const { whileDown } = outcomes.get(way.name)!;
      const sends = whileDown.filter(({ route }) => route === 'send');
      expect(sends.length).toBeGreaterThan(0);
      const answers = whileDown.filter(({ route }) => route === 'send' || route === 'verify');
      for (const exchange of answers) {
        expect({ status: exchange.status, body: exchange.body }).toEqual({
          status: 503,
          body: {
            success: false,
            error: 'SERVICE_UNAVAILABLE',
            message: expect.any(String),
            retryAfter: expect.any(Number),
          },
        });
        expect(exchange.retryAfter).toBe(String(exchange.body.retryAfter));
        expect(durationOf(exchange)).toBeLessThan(ANSWER_WITHIN_MS);
      }
    });

    it('stays live and is not ready', () => {
      const { live, ready } = outcomes.get(way.name)!;
      expect(live.status).toBe(200);
      expect(ready.status).toBe(503);
      expect(ready.body).toMatchObject({ details: { database: { status: 'down' } } });
    });

    it('serves again by itself soon after the database is back', () => {
      const { mended, recovered } = outcomes.get(way.name)!;
      expect(recovered).toBeGreaterThan(0);
      expect(recovered - mended).toBeLessThan(RECOVERY_WITHIN_MS);
    });

    it('tells the operator why, by its code', () => {
      const { breakStarted, mended } = outcomes.get(way.name)!;
      const codes = logEntries(service)
        .filter((entry) => {
          const at = Date.parse(String(entry.time));
          return at >= breakStarted && at <= mended + 1_000;
        })
        .map((entry) => entry.errorCode);
      expect(codes.filter((code) => way.causes.includes(String(code)))).not.toEqual([]);
    });
  });

  it('logs each cause of a background failure once per failure streak, and the recovery', () => {
    const taskLines = logEntries(service).filter((entry) => typeof entry.task === 'string');
    const tasks = new Set(taskLines.map((entry) => String(entry.task)));
    expect([...tasks].sort()).toEqual([
      'Twilio price poll',
      'alert evaluation',
      'analytics writes',
      'retention',
    ]);
    for (const task of tasks) {
      const lines = taskLines.filter((entry) => entry.task === task);
      let streak: unknown[] = [];
      for (const line of lines) {
        if (line.failedRuns !== undefined) {
          streak = [];
          continue;
        }
        expect({ task, repeated: streak.includes(line.errorCode) }).toEqual({
          task,
          repeated: false,
        });
        streak.push(line.errorCode);
      }
      expect({ task, last: lines.at(-1)?.msg }).toEqual({
        task,
        last: `${task}: working again`,
      });
    }
  });

  it('keeps the database password and phone numbers out of its log', () => {
    const log = service.stdout() + service.stderr();
    expect(log).not.toContain(PASSWORD);
    const numbers = traffic.exchanges.flatMap(({ phoneNumber }) => phoneNumber?.slice(1) ?? []);
    expect(numbers.filter((digits) => log.includes(digits))).toEqual([]);
    if (!isRunning(service)) throw new Error(`the process exited${describeOutput(service)}`);
  });
});
