import { ChildProcess } from 'node:child_process';
import { FakeTwilioServer } from '../fakes/fake-twilio-server';
import { messagingEnv, startFakeTwilio } from '../support/fake-twilio-app';
import { RELAXED_LIMITS } from '../support/relaxed-limits';
import { freePorts, startRedisServer } from '../support/redis-server';
import { TestApp, startTestApp } from '../support/test-app';
import {
  Exchange,
  OutageTimeline,
  Traffic,
  durationOf,
  runThroughOutage,
} from '../support/traffic';

/** Every request must be answered within this, Redis up or down. */
const ANSWER_WITHIN_MS = 4_000;
/** After Redis is back, the client must serve again within this, without a restart of ours. */
const RECOVERY_WITHIN_MS = 15_000;
const OUTAGE_MS = 3_000;

let phoneCounter = 0;
/** A fresh Ethiopian mobile number per send, in its own number range. */
function nextPhone(): string {
  phoneCounter += 1;
  return `+2519${String(20 + (phoneCounter % 70)).padStart(2, '0')}${String(400000 + phoneCounter)}`;
}

describe('Redis killed and restarted under traffic', () => {
  let redisPort: number;
  let redis: ChildProcess | undefined;
  let fake: FakeTwilioServer;
  let service: TestApp;
  let traffic: Traffic;
  let timeline: OutageTimeline;
  let probesWhileDown: Exchange[];

  async function killRedis(): Promise<void> {
    const child = redis;
    redis = undefined;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    // A crash, not a clean shutdown: open connections just break.
    child.kill('SIGKILL');
    await exited;
  }

  beforeAll(async () => {
    [redisPort] = await freePorts(1);
    redis = await startRedisServer(redisPort);
    fake = await startFakeTwilio();
    service = await startTestApp({
      skipAccountFilter: true,
      env: messagingEnv(fake, {
        ...RELAXED_LIMITS,
        REDIS_URL: `redis://127.0.0.1:${redisPort}`,
        SMS_MAX_ATTEMPTS: '10',
      }),
    });
    traffic = new Traffic(service, fake, {
      nextPhone,
      purpose: 'registration',
      answerWithinMs: ANSWER_WITHIN_MS,
      askForCountries: true,
    });

    ({ timeline, probesWhileDown } = await runThroughOutage(
      traffic,
      {
        stop: killRedis,
        start: async () => {
          redis = await startRedisServer(redisPort);
        },
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
      await killRedis();
    }
  });

  it('answers every request within seconds, with 200 or 503, never 500', () => {
    const unexpected = traffic.exchanges.filter(
      (exchange) => exchange.status !== 200 && exchange.status !== 503,
    );
    expect(unexpected.map(({ route, status, body }) => ({ route, status, body }))).toEqual([]);
    const slow = traffic.exchanges.filter((exchange) => durationOf(exchange) >= ANSWER_WITHIN_MS);
    expect(slow.map(({ route, status }) => ({ route, status }))).toEqual([]);
  });

  it('fails sends and code checks closed while Redis is down: 503 with Retry-After', () => {
    const whileDown = traffic.exchanges.filter(
      ({ route, startedAt, finishedAt }) =>
        (route === 'send' || route === 'verify') &&
        startedAt >= timeline.down &&
        finishedAt <= timeline.startRequested,
    );
    expect(whileDown.filter(({ route }) => route === 'send').length).toBeGreaterThan(10);
    expect(whileDown.some(({ route }) => route === 'verify')).toBe(true);
    for (const exchange of whileDown) {
      expect(exchange.status).toBe(503);
      expect(exchange.body).toEqual({
        success: false,
        message: expect.any(String),
        error: 'RATE_LIMIT_UNAVAILABLE',
        retryAfter: expect.any(Number),
      });
      expect(exchange.retryAfter).toBe(String(exchange.body.retryAfter));
    }
  });

  it('sends an SMS for every accepted send and for nothing else', () => {
    const refused = traffic.exchanges.filter(
      ({ route, status }) => route === 'send' && status !== 200,
    );
    expect(refused.length).toBeGreaterThan(10);
    const texted = fake.messages.map((message) => message.to);
    expect([...texted].sort()).toEqual([...traffic.accepted.keys()].sort());
  });

  it('keeps routes that need no Redis serving, and stays live but not ready', () => {
    const countries = traffic.exchanges.filter(({ route }) => route === 'countries');
    expect(countries.some(({ startedAt }) => startedAt >= timeline.down)).toBe(true);
    expect(countries.filter(({ status }) => status !== 200)).toEqual([]);
    const [live, ready] = probesWhileDown;
    expect(live.status).toBe(200);
    expect(ready.status).toBe(503);
    expect(ready.body).toMatchObject({ details: { redis: { status: 'down' } } });
  });

  it('reconnects by itself soon after Redis is back, and serves everything again', () => {
    expect(timeline.recovered).toBeGreaterThan(0);
    expect(timeline.recovered - timeline.up).toBeLessThan(RECOVERY_WITHIN_MS);
    const afterRecovery = traffic.exchanges.filter(
      ({ startedAt }) => startedAt > timeline.recovered,
    );
    expect(afterRecovery.filter(({ route }) => route === 'send').length).toBeGreaterThan(5);
    expect(afterRecovery.filter(({ status }) => status !== 200)).toEqual([]);
  });

  it('verifies the code of every accepted send', async () => {
    for (const outcome of await traffic.verifyTheRest()) {
      expect(outcome).toEqual({ phoneNumber: outcome.phoneNumber, status: 200, valid: true });
    }
    expect(traffic.verified.size).toBe(traffic.accepted.size);
  });

  it('logs the outage and the recovery once each, and no unhandled error', () => {
    const messages = service.logs.map((line) => String(line.msg));
    expect(messages.filter((msg) => msg.startsWith('Redis is unreachable'))).toHaveLength(1);
    expect(messages.filter((msg) => msg === 'Redis connection restored')).toHaveLength(1);
    expect(messages.filter((msg) => msg === 'unhandled error')).toEqual([]);
  });
});
