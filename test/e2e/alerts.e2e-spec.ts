import { Client } from 'pg';
import {
  AlertEvaluator,
  EVALUATOR_LOCK_KEY,
} from '../../src/analytics/alerts/alert-evaluator.service';
import { EventRecorder } from '../../src/analytics/events/event-recorder';
import { Clock } from '../../src/common/clock';
import { FakeTwilioServer } from '../fakes/fake-twilio-server';
import { FakeClock } from '../support/fake-clock';
import { RELAXED_LIMITS } from '../support/relaxed-limits';
import { TestApp, startTestApp } from '../support/test-app';
import { TEST_TWILIO } from '../support/twilio-test-credentials';
import { WebhookReceiver } from '../support/webhook-receiver';

const ADMIN_API_KEY = 'alerts-operator-key-0123456789abcdef0123';
const operator = { Authorization: `Bearer ${ADMIN_API_KEY}` };
const HOUR_MS = 3_600_000;

function env(fake: FakeTwilioServer, extra: Record<string, string> = {}): Record<string, string> {
  return {
    ...RELAXED_LIMITS,
    SMS_PROVIDER: 'twilio-messaging',
    TWILIO_ACCOUNT_SID: TEST_TWILIO.accountSid,
    TWILIO_AUTH_TOKEN: TEST_TWILIO.authToken,
    TWILIO_FROM: 'Brand',
    TWILIO_API_BASE_URL: fake.url,
    PUBLIC_BASE_URL: 'https://sms.example.com',
    ADMIN_API_KEY,
    SMS_PRICES: 'ET:0.05',
    // Many unverified sends to one country would otherwise put it on hold mid-test.
    SMS_PUMPING_MODE: 'off',
    // The tests evaluate by hand; the timer must not run in between.
    ALERT_EVALUATION_INTERVAL_MS: '86400000',
    ...extra,
  };
}

async function startFake(): Promise<FakeTwilioServer> {
  return FakeTwilioServer.start({
    accountSid: TEST_TWILIO.accountSid,
    authToken: TEST_TWILIO.authToken,
  });
}

/** Evaluates after the buffered events are written, as the timer would a moment later. */
async function evaluate(service: TestApp) {
  await service.app.get(EventRecorder).flush();
  const evaluation = await service.app.get(AlertEvaluator).evaluate();
  expect(evaluation.evaluated).toBe(true);
  return {
    opened: evaluation.opened.map((alert) => alert.rule),
    resolved: evaluation.resolved.map((alert) => alert.rule),
  };
}

async function alerts(service: TestApp) {
  const response = await service.http().get('/analytics/sms/alerts').set(operator).expect(200);
  return response.body as {
    active: Record<string, unknown>[];
    recent: Record<string, unknown>[];
  };
}

describe('The failure-rate alert', () => {
  let fake: FakeTwilioServer;
  let receiver: WebhookReceiver;
  let service: TestApp;
  let counter = 0;

  beforeAll(async () => {
    fake = await startFake();
    receiver = await WebhookReceiver.start();
    service = await startTestApp({
      skipAccountFilter: true,
      env: env(fake, { ALERT_WEBHOOK_URL: receiver.url }),
    });
  });
  afterAll(async () => {
    await service.close();
    await fake.stop();
    await receiver.stop();
  });

  async function send(count: number, expected = 200) {
    for (let index = 0; index < count; index += 1) {
      const phoneNumber = `+2519150${String((counter += 1)).padStart(5, '0')}`;
      await service
        .http()
        .post('/sms/send-verification')
        .send({ phoneNumber, purpose: 'login' })
        .expect(expected);
    }
  }

  it('lists alerts to operators only, as documented in Swagger', async () => {
    await service.http().get('/analytics/sms/alerts').expect(401);
    expect(await alerts(service)).toEqual({ active: [], recent: [] });
    const document = await service.http().get('/docs-json').expect(200);
    expect(document.body.paths['/analytics/sms/alerts'].get.security).toEqual([{ operator: [] }]);
  });

  it('is not judged on fewer than ALERT_MIN_SENDS sends', async () => {
    fake.failNext(2, { status: 500, path: '/Messages.json' });
    await send(2, 503);
    await send(3);
    expect((await evaluate(service)).opened).toEqual([]);
    expect((await alerts(service)).active).toEqual([]);
  });

  it('opens exactly once above 5% over two evaluations: listed, logged and POSTed once', async () => {
    await send(16); // 21 sends, 2 failed: 9.5%
    expect((await evaluate(service)).opened).toEqual(['failure_rate']);
    expect((await evaluate(service)).opened).toEqual([]);

    const { active } = await alerts(service);
    expect(active).toEqual([
      {
        id: expect.any(String),
        rule: 'failure_rate',
        value: 0.0952,
        threshold: 0.05,
        message: expect.stringContaining('9.5%'),
        startedAt: expect.any(String),
        resolvedAt: null,
        notifiedAt: expect.any(String),
      },
    ]);
    expect(receiver.received).toEqual([
      {
        contentType: 'application/json',
        body: {
          rule: 'failure_rate',
          value: 0.0952,
          threshold: 0.05,
          message: active[0].message,
          startedAt: active[0].startedAt,
        },
      },
    ]);
    const warnings = service.logs.filter(
      (line) => line.level === 40 && (line.alert as { rule?: string })?.rule === 'failure_rate',
    );
    expect(warnings).toHaveLength(1);
  });

  it('resolves once the rate is back under the threshold, and is not POSTed again', async () => {
    await send(30); // 51 sends, 2 failed: 3.9%
    expect((await evaluate(service)).resolved).toEqual(['failure_rate']);
    expect((await evaluate(service)).resolved).toEqual([]);

    const { active, recent } = await alerts(service);
    expect(active).toEqual([]);
    expect(recent).toEqual([
      expect.objectContaining({ rule: 'failure_rate', resolvedAt: expect.any(String) }),
    ]);
    expect(receiver.received).toHaveLength(1);
  });
});

describe('The other alert rules', () => {
  let fake: FakeTwilioServer;
  let receiver: WebhookReceiver;
  let service: TestApp;
  let clock: FakeClock;
  let counter = 0;

  beforeAll(async () => {
    fake = await startFake();
    receiver = await WebhookReceiver.start();
    clock = new FakeClock();
    service = await startTestApp({
      skipAccountFilter: true,
      env: env(fake, {
        ALERT_WEBHOOK_URL: receiver.url,
        ALERT_RESPONSE_TIME_MS: '500',
        ALERT_RATE_LIMIT_VIOLATIONS_PER_HOUR: '3',
        ALERT_DAILY_COST: '0.12',
        ALERT_WEBHOOK_FAILURES_PER_HOUR: '2',
        SMS_RATE_LIMIT_MAX_ATTEMPTS: '1',
      }),
      override: (builder) => builder.overrideProvider(Clock).useValue(clock),
    });
  });
  afterAll(async () => {
    await service.close();
    await fake.stop();
    await receiver.stop();
  });
  // Each test starts with the last hour empty, so no test sees another's events.
  beforeEach(() => clock.advance(2 * HOUR_MS));

  const nextPhone = () => `+2519160${String((counter += 1)).padStart(5, '0')}`;
  const send = (phoneNumber = nextPhone()) =>
    service.http().post('/sms/send-verification').send({ phoneNumber, purpose: 'login' });

  it('response time: opens when the p95 of the SMS endpoints is above the threshold', async () => {
    await send().expect(200);
    expect((await evaluate(service)).opened).not.toContain('response_time');

    fake.latencyMs = 700;
    try {
      await send().expect(200);
    } finally {
      fake.latencyMs = 0;
    }
    expect((await evaluate(service)).opened).toContain('response_time');
    const alert = (await alerts(service)).active.find((item) => item.rule === 'response_time');
    expect(alert).toMatchObject({ threshold: 500, value: expect.any(Number) });
    expect(alert!.value as number).toBeGreaterThan(500);

    clock.advance(2 * HOUR_MS);
    expect((await evaluate(service)).resolved).toContain('response_time');
  });

  it('rate-limit violations: opens above ALERT_RATE_LIMIT_VIOLATIONS_PER_HOUR', async () => {
    const phoneNumber = nextPhone();
    await send(phoneNumber).expect(200);
    for (let refused = 0; refused < 3; refused += 1) await send(phoneNumber).expect(429);
    expect((await evaluate(service)).opened).not.toContain('rate_limit_violations');

    await send(phoneNumber).expect(429);
    expect((await evaluate(service)).opened).toContain('rate_limit_violations');
    expect(
      (await alerts(service)).active.find((item) => item.rule === 'rate_limit_violations'),
    ).toMatchObject({ value: 4, threshold: 3 });

    clock.advance(2 * HOUR_MS);
    expect((await evaluate(service)).resolved).toContain('rate_limit_violations');
  });

  it("daily cost: opens when today's spend (UTC) passes ALERT_DAILY_COST, resolves the next day", async () => {
    const now = clock.now();
    const nextUtcDay = Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate() + 1);
    clock.advance(nextUtcDay - now.getTime() + HOUR_MS);
    await evaluate(service);

    await send().expect(200);
    await send().expect(200);
    expect((await evaluate(service)).opened).not.toContain('daily_cost');

    await send().expect(200);
    clock.advance(2 * HOUR_MS); // still today: the spend counts since midnight, not the last hour
    expect((await evaluate(service)).opened).toContain('daily_cost');
    const alert = (await alerts(service)).active.find((item) => item.rule === 'daily_cost');
    expect(alert).toMatchObject({ value: 0.15, threshold: 0.12 });
    expect(alert!.message).toContain('USD');

    clock.advance(24 * HOUR_MS);
    expect((await evaluate(service)).resolved).toContain('daily_cost');
  });

  it('webhook failures: opens above the threshold; a refused POST is retried at the next evaluation', async () => {
    const refusedCallback = () =>
      service
        .http()
        .post('/webhooks/twilio/status')
        .set('Content-Type', 'application/x-www-form-urlencoded')
        .send('MessageSid=SM0123456789abcdef0123456789abcdef&MessageStatus=delivered')
        .expect(403);
    for (let index = 0; index < 3; index += 1) await refusedCallback();

    const before = receiver.received.length;
    receiver.statuses = [503, 503, 503];
    expect((await evaluate(service)).opened).toContain('webhook_failures');
    let alert = (await alerts(service)).active.find((item) => item.rule === 'webhook_failures');
    expect(alert).toMatchObject({ value: 3, threshold: 2, notifiedAt: null });
    expect(receiver.received.length - before).toBe(3);

    expect((await evaluate(service)).opened).toEqual([]);
    alert = (await alerts(service)).active.find((item) => item.rule === 'webhook_failures');
    expect(alert!.notifiedAt).toEqual(expect.any(String));
    const delivered = receiver.received.slice(before).map((request) => request.body.rule);
    expect(delivered).toEqual(Array(4).fill('webhook_failures'));

    clock.advance(2 * HOUR_MS);
    expect((await evaluate(service)).resolved).toContain('webhook_failures');
  });
});

describe('The response-time alert on every SMS and auth request', () => {
  let fake: FakeTwilioServer;
  let service: TestApp;
  const clock = new FakeClock();

  beforeAll(async () => {
    fake = await startFake();
    service = await startTestApp({
      skipAccountFilter: true,
      env: {
        ...env(fake),
        // Twilio checks the codes: a wrong code or an expired verification costs a round trip.
        SMS_PROVIDER: 'twilio-verify',
        TWILIO_VERIFY_SERVICE_SID: TEST_TWILIO.verifyServiceSid,
        SMS_COUNTRY_LOCALES: 'ET:en',
        ALERT_RESPONSE_TIME_MS: '500',
      },
      override: (builder) => builder.overrideProvider(Clock).useValue(clock),
    });
  });
  afterAll(async () => {
    await service.close();
    await fake.stop();
  });

  it('opens on slow wrong-code checks and slow 404s, which record no send or verification', async () => {
    const phoneNumber = '+251916100001';
    const other = '+251916100002';
    for (const number of [phoneNumber, other]) {
      await service
        .http()
        .post('/sms/send-verification')
        .send({ phoneNumber: number, purpose: 'login' })
        .expect(200);
    }
    expect((await evaluate(service)).opened).not.toContain('response_time');

    const wrong = fake.codeFor(phoneNumber) === '000000' ? '111111' : '000000';
    fake.latencyMs = 700;
    try {
      for (let check = 0; check < 2; check += 1) {
        const answer = await service
          .http()
          .post('/sms/verify-code')
          .send({ phoneNumber, code: wrong, purpose: 'login' })
          .expect(200);
        expect(answer.body).toMatchObject({ status: 'pending', valid: false });
      }
      // Twilio no longer has the other verification: 404, after the same wait.
      fake.failNext(1, { status: 404, code: 20404, path: '/VerificationCheck' });
      await service
        .http()
        .post('/sms/verify-code')
        .send({ phoneNumber: other, code: '123456', purpose: 'login' })
        .expect(404);
    } finally {
      fake.latencyMs = 0;
    }

    expect((await evaluate(service)).opened).toContain('response_time');
    const alert = (await alerts(service)).active.find((item) => item.rule === 'response_time');
    expect(alert).toMatchObject({ threshold: 500 });
    expect(alert!.value as number).toBeGreaterThan(500);
    expect(alert!.message).toContain('SMS and auth endpoints');

    clock.advance(2 * HOUR_MS);
    expect((await evaluate(service)).resolved).toContain('response_time');
  });
});

describe('The security-incident alert, and the daily-cost alert from the budget', () => {
  let fake: FakeTwilioServer;
  let service: TestApp;
  const clock = new FakeClock();
  let counter = 0;

  beforeAll(async () => {
    fake = await startFake();
    service = await startTestApp({
      skipAccountFilter: true,
      env: env(fake, {
        ALERT_SECURITY_INCIDENTS_PER_HOUR: '2',
        // ALERT_DAILY_COST unset: 80 % of the budget, 0.40 USD at 0.05 USD a send.
        SMS_DAILY_BUDGET: '0.5',
      }),
      override: (builder) => builder.overrideProvider(Clock).useValue(clock),
    });
  });
  afterAll(async () => {
    await service.close();
    await fake.stop();
  });
  beforeEach(() => clock.advance(2 * HOUR_MS));

  it('security incidents: opens above ALERT_SECURITY_INCIDENTS_PER_HOUR, resolves after', async () => {
    const refusedCallback = () =>
      service
        .http()
        .post('/webhooks/twilio/status')
        .set('Content-Type', 'application/x-www-form-urlencoded')
        .send('MessageSid=SM0123456789abcdef0123456789abcdef&MessageStatus=delivered')
        .expect(403);
    for (let index = 0; index < 2; index += 1) await refusedCallback();
    expect((await evaluate(service)).opened).not.toContain('security_incidents');

    await refusedCallback();
    expect((await evaluate(service)).opened).toContain('security_incidents');
    const alert = (await alerts(service)).active.find((item) => item.rule === 'security_incidents');
    expect(alert).toMatchObject({ value: 3, threshold: 2 });
    expect(alert!.message).toContain('/analytics/sms/security');

    clock.advance(2 * HOUR_MS);
    expect((await evaluate(service)).resolved).toContain('security_incidents');
  });

  it('daily cost: with SMS_DAILY_BUDGET and no ALERT_DAILY_COST, opens past 80 % of the budget', async () => {
    const now = clock.now();
    const nextUtcDay = Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate() + 1);
    clock.advance(nextUtcDay - now.getTime() + HOUR_MS);
    const send = () =>
      service
        .http()
        .post('/sms/send-verification')
        .send({
          phoneNumber: `+2519163${String((counter += 1)).padStart(5, '0')}`,
          purpose: 'login',
        })
        .expect(200);
    for (let sent = 0; sent < 8; sent += 1) await send();
    expect((await evaluate(service)).opened).not.toContain('daily_cost');

    await send();
    expect((await evaluate(service)).opened).toContain('daily_cost');
    const alert = (await alerts(service)).active.find((item) => item.rule === 'daily_cost');
    expect(alert).toMatchObject({ value: 0.45, threshold: 0.4 });
    expect(alert!.message).toContain('80% of SMS_DAILY_BUDGET');

    const metrics = await service.http().get('/metrics').set(operator).expect(200);
    expect(metrics.text).toContain('sms_alert_threshold{rule="daily_cost"} 0.4');
  });
});

describe('Alert evaluation on several instances', () => {
  let first: TestApp;
  let second: TestApp;

  beforeAll(async () => {
    first = await startTestApp({ env: { ALERT_EVALUATION_INTERVAL_MS: '86400000' } });
    second = await startTestApp({
      databaseUrl: first.databaseUrl,
      redisKeyPrefix: first.redisKeyPrefix,
      env: { ALERT_EVALUATION_INTERVAL_MS: '86400000' },
    });
  });
  afterAll(async () => {
    await second.close();
    await first.close();
  });

  it('runs on one instance at a time, and another takes over when the lock is free', async () => {
    const holder = new Client({ connectionString: first.databaseUrl });
    await holder.connect();
    try {
      await holder.query('SELECT pg_advisory_lock($1)', [EVALUATOR_LOCK_KEY]);
      expect((await first.app.get(AlertEvaluator).evaluate()).evaluated).toBe(false);
      expect((await second.app.get(AlertEvaluator).evaluate()).evaluated).toBe(false);
    } finally {
      await holder.end();
    }
    expect((await first.app.get(AlertEvaluator).evaluate()).evaluated).toBe(true);
    expect((await second.app.get(AlertEvaluator).evaluate()).evaluated).toBe(false);
    expect((await first.app.get(AlertEvaluator).evaluate()).evaluated).toBe(true);
  });
});
