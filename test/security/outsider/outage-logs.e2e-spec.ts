import type { ChildProcess } from 'node:child_process';
import supertest from 'supertest';
import { Clock } from '../../../src/common/clock';
import { OUTAGE_LOG_INTERVAL_MS } from '../../../src/common/errors/outage-log';
import { FakeTwilioServer } from '../../fakes/fake-twilio-server';
import { AuthClient, authTestEnvironment } from '../../support/auth-client';
import { startFakeTwilio } from '../../support/fake-twilio-app';
import { FakeClock } from '../../support/fake-clock';
import { freePorts, startRedisServer, stopRedisServer } from '../../support/redis-server';
import { RELAXED_LIMITS } from '../../support/relaxed-limits';
import { TestApp, startTestApp } from '../../support/test-app';

/**
 * While Redis is down every send and code check fails closed (503). A client flooding the service
 * meanwhile, or just the traffic of a busy hour, must not turn each of those answers into a log
 * line with a stack trace: the operator gets the cause once when it starts (with its stack), a
 * summary per interval while it lasts, and one line when the limit store is back.
 */

const PINO_WARN = 40;
const FLOOD = 50;

let phoneCounter = 0;
const nextPhone = () => `+2519160${String((phoneCounter += 1)).padStart(5, '0')}`;

type LogLine = Record<string, unknown> & { err?: { stack?: string } };

describe('A Redis outage under a flood of requests is a few log lines, not one per request', () => {
  let fake: FakeTwilioServer;
  let service: TestApp;
  let client: AuthClient;
  let redis: ChildProcess | undefined;
  let redisPort: number;
  const clock = new FakeClock(Date.UTC(2026, 2, 2, 9));

  beforeAll(async () => {
    [redisPort] = await freePorts(1);
    redis = await startRedisServer(redisPort);
    fake = await startFakeTwilio();
    service = await startTestApp({
      skipAccountFilter: true,
      env: {
        ...RELAXED_LIMITS,
        ...authTestEnvironment(fake),
        REDIS_URL: `redis://127.0.0.1:${redisPort}`,
      },
      override: (builder) => builder.overrideProvider(Clock).useValue(clock),
    });
    client = new AuthClient(service, fake);
  });
  afterAll(async () => {
    await service?.close();
    await fake?.stop();
    await stopRedisServer(redis);
  });

  async function eventually(check: () => Promise<boolean>): Promise<void> {
    const deadline = Date.now() + 15_000;
    while (Date.now() < deadline) {
      if (await check()) return;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    throw new Error('not within 15 s');
  }

  /** Sends and code checks alike, all at once: each needs the limit store. */
  function flood(requests: number): Promise<supertest.Response[]> {
    return Promise.all(
      Array.from({ length: requests }, (_, index) => {
        const phoneNumber = nextPhone();
        return index % 2 === 0
          ? client.sendCode(phoneNumber, 'login')
          : client.post('/sms/verify-code', { phoneNumber, code: '123456', purpose: 'login' });
      }),
    );
  }

  function expectFailedClosed(responses: supertest.Response[]): void {
    for (const response of responses) {
      expect({ status: response.status, body: response.body }).toEqual({
        status: 503,
        body: {
          success: false,
          message: 'The service is temporarily unavailable. Please try again shortly.',
          error: 'RATE_LIMIT_UNAVAILABLE',
          retryAfter: 5,
        },
      });
      expect(response.headers['retry-after']).toBe('5');
    }
  }

  const linesSince = (from: number): LogLine[] => service.logs.slice(from) as LogLine[];
  const rateLimiterLines = (lines: LogLine[]) =>
    lines.filter((line) => line.context === 'RateLimit');

  it('logs the cause once with its stack, then a summary per interval, then the recovery once', async () => {
    await client.sendCode(nextPhone(), 'login').expect(200);
    await stopRedisServer(redis);
    redis = undefined;
    await eventually(async () => (await client.get('/health/ready')).status === 503);

    const outageStart = service.logs.length;
    expectFailedClosed(await flood(FLOOD));

    const duringFlood = linesSince(outageStart);
    const started = rateLimiterLines(duringFlood);
    expect(started).toHaveLength(1);
    expect(started[0]).toMatchObject({ level: 50, errorCode: 'redis offline' });
    expect(started[0].err?.stack).toMatch(/\n\s+at /);
    // Everything at warn or above while 50 requests failed: the limiter's line and the exception
    // filter's one per cause; no stack but the first.
    const loud = duringFlood.filter((line) => Number(line.level) >= PINO_WARN);
    expect(loud.length).toBeLessThanOrEqual(3);
    expect(duringFlood.filter((line) => line.err?.stack ?? line.stack)).toHaveLength(1);

    clock.advance(OUTAGE_LOG_INTERVAL_MS);
    const nextInterval = service.logs.length;
    expectFailedClosed(await flood(FLOOD));
    const summaries = rateLimiterLines(linesSince(nextInterval));
    expect(summaries).toHaveLength(1);
    expect(summaries[0]).toMatchObject({
      level: PINO_WARN,
      errorCode: 'redis offline',
      repeatsSinceLastLine: FLOOD - 1,
    });
    expect(summaries[0].err).toBeUndefined();

    const restart = service.logs.length;
    redis = await startRedisServer(redisPort);
    await eventually(async () => (await client.sendCode(nextPhone(), 'login')).status === 200);
    await client.sendCode(nextPhone(), 'login').expect(200);
    const recovered = rateLimiterLines(linesSince(restart));
    expect(recovered).toHaveLength(1);
    expect(recovered[0]).toMatchObject({ level: 30, msg: 'rate-limit store reachable again' });
    expect(recovered[0].failures).toBeGreaterThanOrEqual(2 * FLOOD);
  }, 60_000);
});
