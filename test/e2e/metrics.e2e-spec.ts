import { randomUUID } from 'node:crypto';
import { Hasher } from '../../src/common/hasher';
import { MetricsServer } from '../../src/metrics/metrics-server';
import { FakeTwilioServer } from '../fakes/fake-twilio-server';
import { RELAXED_LIMITS } from '../support/relaxed-limits';
import { TestApp, startTestApp } from '../support/test-app';
import { TEST_TWILIO } from '../support/twilio-test-credentials';

const ADMIN_API_KEY = 'metrics-operator-key-0123456789abcdef01';
const operator = { Authorization: `Bearer ${ADMIN_API_KEY}` };

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
    ...extra,
  };
}

/** The sum of every sample of `name` whose labels include `labels`. */
function sample(text: string, name: string, labels: Record<string, string> = {}): number {
  let total = 0;
  for (const line of text.split('\n')) {
    const match = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!match || match[1] !== name) continue;
    const found = Object.fromEntries(
      [...(match[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)].map((pair) => [
        pair[1],
        pair[2],
      ]),
    );
    if (Object.entries(labels).every(([key, value]) => found[key] === value)) {
      total += Number(match[3]);
    }
  }
  return total;
}

describe('GET /metrics on the main port', () => {
  let fake: FakeTwilioServer;
  let service: TestApp;
  let counter = 0;

  beforeAll(async () => {
    fake = await FakeTwilioServer.start({
      accountSid: TEST_TWILIO.accountSid,
      authToken: TEST_TWILIO.authToken,
    });
    service = await startTestApp({
      skipAccountFilter: true,
      env: env(fake, {
        SMS_PURPOSE_LIMITS: 'registration:1,login:10000,password_reset:10000,two_factor:10000',
      }),
    });
  });
  afterAll(async () => {
    await service.close();
    await fake.stop();
  });

  const nextPhone = () => `+2519130${String((counter += 1)).padStart(5, '0')}`;

  async function scrape(): Promise<string> {
    const response = await service.http().get('/metrics').set(operator).expect(200);
    return response.text;
  }

  async function sendAndVerify(phoneNumber: string, purpose: string) {
    await service.http().post('/sms/send-verification').send({ phoneNumber, purpose }).expect(200);
    const message = fake.lastMessageTo(phoneNumber)!;
    const code = /(\d{6})/.exec(message.body)![1];
    await service.http().post('/sms/verify-code').send({ phoneNumber, code, purpose }).expect(200);
    return message;
  }

  it('answers 401 without the operator key and the Prometheus text format with it', async () => {
    await service.http().get('/metrics').expect(401);
    await service
      .http()
      .get('/metrics')
      .set('Authorization', 'Bearer not-the-operator-key-0123456789abcdef')
      .expect(401);

    const response = await service.http().get('/metrics').set(operator).expect(200);
    expect(response.headers['content-type']).toMatch(/^text\/plain; version=0\.0\.4/);
    expect(response.text).toContain('# TYPE sms_events_total counter');
    expect(response.text).toContain('# TYPE http_request_duration_seconds histogram');
    expect(response.text).toContain('# TYPE sms_analytics_events_dropped_total counter');
    expect(sample(response.text, 'sms_analytics_events_dropped_total')).toBe(0);
    expect(response.text).toMatch(/^process_cpu_user_seconds_total /m);
    expect(response.text).toMatch(/^nodejs_eventloop_lag_seconds /m);
  });

  it('counts a send and a verification with their purpose and country, Twilio latency and spend', async () => {
    const before = await scrape();
    await sendAndVerify(nextPhone(), 'password_reset');
    const after = await scrape();

    const change = (name: string, labels: Record<string, string>) =>
      sample(after, name, labels) - sample(before, name, labels);
    const resets = { purpose: 'password_reset', country: 'ET' };
    expect(change('sms_events_total', { ...resets, status: 'sent' })).toBe(1);
    expect(change('sms_events_total', { ...resets, status: 'verified' })).toBe(1);
    expect(change('sms_events_total', { ...resets, status: 'failed' })).toBe(0);
    expect(
      change('sms_provider_request_duration_seconds_count', {
        provider: 'twilio-messaging',
        outcome: 'success',
      }),
    ).toBe(1);
    expect(change('sms_spend_total', { currency: 'USD' })).toBeCloseTo(0.05, 6);
  });

  it('counts failed sends and rate-limit rejections by layer', async () => {
    const before = await scrape();
    fake.failNext(1, { status: 500, path: '/Messages.json' });
    await service
      .http()
      .post('/sms/send-verification')
      .send({ phoneNumber: nextPhone(), purpose: 'login' })
      .expect(503);
    const phoneNumber = nextPhone();
    for (const expected of [200, 429]) {
      await service
        .http()
        .post('/sms/send-verification')
        .send({ phoneNumber, purpose: 'registration' })
        .expect(expected);
    }
    const after = await scrape();

    const change = (name: string, labels: Record<string, string>) =>
      sample(after, name, labels) - sample(before, name, labels);
    expect(change('sms_events_total', { status: 'failed', purpose: 'login', country: 'ET' })).toBe(
      1,
    );
    expect(
      change('sms_provider_request_duration_seconds_count', {
        provider: 'twilio-messaging',
        outcome: 'error',
      }),
    ).toBe(1);
    expect(change('sms_rate_limit_rejections_total', { layer: 'purpose' })).toBe(1);
    expect(change('sms_events_total', { status: 'rate_limited', purpose: 'registration' })).toBe(1);
  });

  it('times HTTP requests by route template, never by the URL', async () => {
    const holdId = randomUUID();
    await service.http().delete(`/admin/sms/holds/${holdId}`).set(operator).expect(404);
    await service.http().get('/no-such-page-4f1e9a').expect(404);
    await service
      .http()
      .post('/sms/send-verification')
      .send({ phoneNumber: nextPhone(), purpose: 'login' })
      .expect(200);
    const text = await scrape();

    expect(
      sample(text, 'http_request_duration_seconds_count', {
        method: 'DELETE',
        route: '/admin/sms/holds/:id',
        status_code: '404',
      }),
    ).toBe(1);
    expect(
      sample(text, 'http_request_duration_seconds_count', {
        method: 'GET',
        route: 'unmatched',
        status_code: '404',
      }),
    ).toBeGreaterThanOrEqual(1);
    expect(
      sample(text, 'http_request_duration_seconds_count', {
        method: 'POST',
        route: '/sms/send-verification',
        status_code: '200',
      }),
    ).toBeGreaterThanOrEqual(1);
    expect(
      sample(text, 'http_request_duration_seconds_bucket', {
        route: '/sms/send-verification',
        status_code: '200',
        le: '2',
      }),
    ).toBeGreaterThanOrEqual(1);
    expect(text).not.toContain(holdId);
    expect(text).not.toContain('no-such-page');
  });

  it('counts Twilio status callbacks refused for their signature', async () => {
    const before = sample(await scrape(), 'sms_webhook_failures_total', { kind: 'signature' });
    await service
      .http()
      .post('/webhooks/twilio/status')
      .set('Content-Type', 'application/x-www-form-urlencoded')
      .send('MessageSid=SM0123456789abcdef0123456789abcdef&MessageStatus=delivered')
      .expect(403);
    const after = sample(await scrape(), 'sms_webhook_failures_total', { kind: 'signature' });
    expect(after - before).toBe(1);
  });

  it('exports the alert thresholds it runs with', async () => {
    const text = await scrape();
    expect(sample(text, 'sms_alert_threshold', { rule: 'failure_rate' })).toBe(0.05);
    expect(sample(text, 'sms_alert_threshold', { rule: 'response_time' })).toBe(2);
    expect(sample(text, 'sms_alert_threshold', { rule: 'daily_cost' })).toBe(0);
  });

  it('is documented in Swagger as an operator route', async () => {
    const document = await service.http().get('/docs-json').expect(200);
    const scrape = document.body.paths['/metrics'].get;
    expect(scrape.security).toEqual([{ operator: [] }]);
    expect(Object.keys(scrape.responses)).toEqual(expect.arrayContaining(['200', '401']));
  });

  it('never shows a phone number, its hash or a message sid', async () => {
    const phoneNumber = nextPhone();
    const message = await sendAndVerify(phoneNumber, 'login');
    const text = await scrape();
    expect(text).not.toContain(phoneNumber.slice(1));
    expect(text).not.toContain(phoneNumber.slice(-9));
    expect(text).not.toContain(service.app.get(Hasher).hash('phone', phoneNumber));
    expect(text).not.toContain(message.sid);
    const labelValues = [...text.matchAll(/\w+="([^"]*)"/g)].map((match) => match[1]);
    expect(labelValues.filter((value) => /\d{7,}/.test(value))).toEqual([]);
  });
});

describe('GET /metrics on METRICS_PORT', () => {
  let fake: FakeTwilioServer;
  let service: TestApp;

  beforeAll(async () => {
    fake = await FakeTwilioServer.start({
      accountSid: TEST_TWILIO.accountSid,
      authToken: TEST_TWILIO.authToken,
    });
    service = await startTestApp({
      skipAccountFilter: true,
      env: env(fake, { METRICS_PORT: '0', METRICS_HOST: '127.0.0.1' }),
    });
  });
  afterAll(async () => {
    await service.close();
    await fake.stop();
  });

  const metricsUrl = (path = '/metrics') =>
    `http://127.0.0.1:${service.app.get(MetricsServer).address!.port}${path}`;

  it('serves the metrics there without a key, and 404 for /metrics on the main port', async () => {
    await service
      .http()
      .post('/sms/send-verification')
      .send({ phoneNumber: '+251914000001', purpose: 'login' })
      .expect(200);

    const response = await fetch(metricsUrl());
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
    const text = await response.text();
    expect(sample(text, 'sms_events_total', { status: 'sent', purpose: 'login' })).toBe(1);
    expect(text).not.toContain('251914000001');

    await service.http().get('/metrics').set(operator).expect(404);
    await service.http().get('/metrics').expect(404);
  });

  it('serves nothing else on that port', async () => {
    expect((await fetch(metricsUrl('/health'))).status).toBe(404);
    expect((await fetch(metricsUrl(), { method: 'POST' })).status).toBe(405);
  });

  it('closes the port when the app stops', async () => {
    const url = metricsUrl();
    await service.close();
    await expect(fetch(url)).rejects.toThrow();
  });
});

describe('METRICS_ENABLED=false', () => {
  let fake: FakeTwilioServer;
  let service: TestApp;

  beforeAll(async () => {
    fake = await FakeTwilioServer.start({
      accountSid: TEST_TWILIO.accountSid,
      authToken: TEST_TWILIO.authToken,
    });
    service = await startTestApp({ env: env(fake, { METRICS_ENABLED: 'false' }) });
  });
  afterAll(async () => {
    await service.close();
    await fake.stop();
  });

  it('answers 404 for /metrics, even to operators', async () => {
    await service.http().get('/metrics').set(operator).expect(404);
  });
});
