import { DataSource } from 'typeorm';
import { EventRecorder } from '../../src/analytics/events/event-recorder';
import { FakeTwilioServer } from '../fakes/fake-twilio-server';
import { createUser } from '../factories/user.factory';
import { messagingEnv, startFakeTwilio } from '../support/fake-twilio-app';
import { RELAXED_LIMITS } from '../support/relaxed-limits';
import { TestApp, startTestApp } from '../support/test-app';
import { TEST_TWILIO } from '../support/twilio-test-credentials';

/**
 * What the operators' reports say after traffic an operator can picture, compared with what
 * happened and with /metrics (issue 13 item 4, issue 15 items 5, 8, 9).
 */

const ADMIN_API_KEY = 'reports-operator-key-0123456789abcdef0123';
const operator = { Authorization: `Bearer ${ADMIN_API_KEY}` };
const TEST_NUMBER = '+251911000001';
const TEST_LOGIN_NUMBER = '+251911000002';
const JWT_SECRET = 'reports-jwt-secret-0123456789abcdef012345';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Json = any;

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

function reports(service: TestApp) {
  const get = async (path: string): Promise<Json> => {
    await service.app.get(EventRecorder).flush();
    return (await service.http().get(path).set(operator).expect(200)).body;
  };
  return {
    get,
    summary: (query = '') => get(`/analytics/sms/summary${query}`),
    metrics: async (): Promise<string> =>
      (await service.http().get('/metrics').set(operator).expect(200)).text,
  };
}

function codeIn(fake: FakeTwilioServer, phoneNumber: string): string {
  return /(\d{6})/.exec(fake.lastMessageTo(phoneNumber)!.body)![1];
}

describe('Reports count test numbers apart, and a code as verified only when the answer said so', () => {
  let fake: FakeTwilioServer;
  let service: TestApp;

  beforeAll(async () => {
    fake = await startFakeTwilio();
    service = await startTestApp({
      env: messagingEnv(fake, {
        ADMIN_API_KEY,
        JWT_SECRET,
        SMS_TEST_NUMBERS: `${TEST_NUMBER}:123456,${TEST_LOGIN_NUMBER}:654321`,
      }),
    });
  });
  afterAll(async () => {
    await service.close();
    await fake.stop();
  });

  it('shows 2 of 4 real codes verified in every panel and in /metrics, test numbers apart', async () => {
    const http = () => service.http();
    // Four real registration codes, two of them verified.
    const real = ['+251912300001', '+251912300002', '+251912300003', '+251912300004'];
    for (const phoneNumber of real) {
      await http()
        .post('/sms/send-verification')
        .send({ phoneNumber, purpose: 'registration' })
        .expect(200);
    }
    for (const phoneNumber of real.slice(0, 2)) {
      const code = codeIn(fake, phoneNumber);
      await http()
        .post('/sms/verify-code')
        .send({ phoneNumber, code, purpose: 'registration' })
        .expect(200);
    }
    // A test number verified, and a test number's login code taken by login-sms, which refuses
    // it (no account): 401, so not a verification either.
    await http()
      .post('/sms/send-verification')
      .send({ phoneNumber: TEST_NUMBER, purpose: 'registration' })
      .expect(200);
    await http()
      .post('/sms/verify-code')
      .send({ phoneNumber: TEST_NUMBER, code: '123456', purpose: 'registration' })
      .expect(200);
    await http()
      .post('/sms/send-verification')
      .send({ phoneNumber: TEST_LOGIN_NUMBER, purpose: 'login' })
      .expect(200);
    const refused = await http()
      .post('/auth/login-sms')
      .send({ phoneNumber: TEST_LOGIN_NUMBER, code: '654321' })
      .expect(401);
    expect(refused.body.error).toBe('INVALID_CODE');

    const { summary, get, metrics } = reports(service);
    const all = await summary();
    expect(all.counts).toMatchObject({ sent: 4, verified: 2, refused: 1 });
    expect(all.verificationRate).toBe(0.5);
    expect(all.testNumbers).toEqual({ sent: 2, verified: 1, expired: 0 });
    expect(all.refusedByLayer).toEqual([{ layer: 'auth', count: 1 }]);

    const rates = await get('/analytics/sms/success-rates');
    const registration = rates.perPurpose.find((row: Json) => row.purpose === 'registration');
    expect(registration).toMatchObject({ sent: 4, verified: 2, verificationRate: 0.5 });
    const login = rates.perPurpose.find((row: Json) => row.purpose === 'login');
    expect(login ?? { sent: 0, verified: 0 }).toMatchObject({ sent: 0, verified: 0 });
    const sum = (rows: Json[], field: string) =>
      rows.reduce((total: number, row: Json) => total + row[field], 0);
    for (const rows of [rates.perPurpose, rates.overTime]) {
      expect({ sent: sum(rows, 'sent'), verified: sum(rows, 'verified') }).toEqual({
        sent: 4,
        verified: 2,
      });
    }
    const countries = await get('/analytics/sms/countries');
    expect(countries.countries).toEqual([
      expect.objectContaining({ country: 'ET', sent: 4, verified: 2, verificationRate: 0.5 }),
    ]);

    const scraped = await metrics();
    expect({
      sent: sample(scraped, 'sms_events_total', { status: 'sent' }),
      verified: sample(scraped, 'sms_events_total', { status: 'verified' }),
      testSent: sample(scraped, 'sms_events_total', { status: 'test_sent' }),
      testVerified: sample(scraped, 'sms_events_total', { status: 'test_verified' }),
      refused: sample(scraped, 'sms_events_total', { status: 'refused' }),
    }).toEqual({ sent: 4, verified: 2, testSent: 2, testVerified: 1, refused: 1 });
  });

  it('records a login-sms proof as verified once the login succeeds', async () => {
    const phoneNumber = '+251912300010';
    await createUser(service, { phoneNumber });
    const { summary } = reports(service);
    const before = await summary();
    await service
      .http()
      .post('/sms/send-verification')
      .send({ phoneNumber, purpose: 'login' })
      .expect(200);
    await service
      .http()
      .post('/auth/login-sms')
      .send({ phoneNumber, code: codeIn(fake, phoneNumber) })
      .expect(200);
    const after = await summary();
    expect(after.counts.verified - before.counts.verified).toBe(1);
    expect(after.counts.refused - before.counts.refused).toBe(0);
  });

  it('records the request id under its own name, and answers it as X-Request-Id', async () => {
    const response = await service
      .http()
      .post('/sms/send-verification')
      .set('X-Request-Id', 'req-reports-0001')
      .send({ phoneNumber: '+251912300020', purpose: 'registration' })
      .expect(200);
    expect(response.headers['x-request-id']).toBe('req-reports-0001');
    await service.app.get(EventRecorder).flush();
    const rows = await service.app
      .get(DataSource)
      .query(`SELECT status, request_id FROM sms_events WHERE request_id = $1`, [
        'req-reports-0001',
      ]);
    expect(rows).toEqual([{ status: 'sent', request_id: 'req-reports-0001' }]);
  });
});

describe('Reports show a guessing attack, refused numbers and every refusal by its layer', () => {
  let fake: FakeTwilioServer;
  let service: TestApp;

  beforeAll(async () => {
    fake = await startFakeTwilio();
    service = await startTestApp({
      skipAccountFilter: true,
      env: messagingEnv(fake, {
        ADMIN_API_KEY,
        JWT_SECRET,
        // Each test sends from its own address, so per-IP limits are its own.
        TRUST_PROXY: '127.0.0.1',
        SMS_PURPOSE_LIMITS: 'registration:10000,login:1,password_reset:10000,two_factor:10000',
        SMS_VERIFY_PHONE_LIMIT: '3',
        SMS_VERIFY_IP_LIMIT: '5',
        AUTH_PASSWORD_ATTEMPTS_LIMIT: '2',
        AUTH_PASSWORD_IP_ATTEMPTS_LIMIT: '3',
        SMS_PRICES: 'ET:0.05',
        SMS_BUDGET_CURRENCY: 'EUR',
      }),
    });
  });
  afterAll(async () => {
    await service.close();
    await fake.stop();
  });

  const from = (ip: string) => ({
    post: (path: string, body: object) =>
      service.http().post(path).set('X-Forwarded-For', ip).send(body),
  });

  /** Everything an operator would compare, before and after some traffic. */
  async function snapshot() {
    const { summary, get, metrics } = reports(service);
    await service.app.get(EventRecorder).flush();
    const security = await service.http().get('/analytics/sms/security').set(operator);
    return {
      summary: await summary(),
      security: security.status === 200 ? security.body : { byKind: [], total: 0 },
      failures: await get('/analytics/sms/failures'),
      metrics: await metrics(),
    };
  }

  function topError(failures: Json, errorCode: string, status: string): number {
    return (
      failures.topErrors.find((row: Json) => row.errorCode === errorCode && row.status === status)
        ?.count ?? 0
    );
  }

  it('shows wrong codes, a spent attempt budget and refused numbers among the failures', async () => {
    const before = await snapshot();
    const client = from('198.51.100.1');
    const phoneNumber = '+251912400001';
    await client
      .post('/sms/send-verification', { phoneNumber, purpose: 'registration' })
      .expect(200);
    const code = codeIn(fake, phoneNumber);
    const wrong = code === '000000' ? '111111' : '000000';
    const check = () =>
      client.post('/sms/verify-code', { phoneNumber, code: wrong, purpose: 'registration' });
    await check().expect(200);
    await check().expect(200);
    await check().expect(429); // the third wrong code spends the budget (SMS_MAX_ATTEMPTS=3)
    await check().expect(404); // and the verification is over
    // A Guernsey mobile (not in SUPPORTED_COUNTRIES) and an Addis Ababa landline.
    const guernsey = '+447781123456';
    const landline = '+251111234567';
    await client
      .post('/sms/send-verification', { phoneNumber: guernsey, purpose: 'registration' })
      .expect(400);
    await client
      .post('/sms/send-verification', { phoneNumber: landline, purpose: 'registration' })
      .expect(400);
    const after = await snapshot();

    const change = (errorCode: string, status: string) =>
      topError(after.failures, errorCode, status) - topError(before.failures, errorCode, status);
    expect({
      wrongCodes: change('WRONG_CODE', 'wrong_code'),
      spentBudget: change('VERIFICATION_ATTEMPTS_EXCEEDED', 'security'),
      otherCountry: change('PHONE_COUNTRY_NOT_SUPPORTED', 'refused'),
      landline: change('PHONE_TYPE_NOT_ALLOWED', 'refused'),
    }).toEqual({ wrongCodes: 2, spentBudget: 1, otherCountry: 1, landline: 1 });
    expect(after.summary.counts.wrongCodes - before.summary.counts.wrongCodes).toBe(2);
    expect(after.failures.recent[0]).toMatchObject({ status: 'refused' });

    // Hashes only: neither the numbers nor the client's address are stored.
    const rows = JSON.stringify(
      await service.app
        .get(DataSource)
        .query(`SELECT * FROM sms_events WHERE status IN ('wrong_code', 'refused', 'security')`),
    );
    for (const secret of [phoneNumber, guernsey, landline, '198.51.100.1', wrong]) {
      expect(rows).not.toContain(secret.replace('+', ''));
    }
    expect(JSON.stringify(after.failures)).not.toContain(guernsey.slice(1));
  });

  it('splits rate-limit refusals by layer, as sms_rate_limit_rejections_total does', async () => {
    const before = await snapshot();
    const client = from('198.51.100.2');
    const phoneNumber = '+251912400002';
    await client.post('/sms/send-verification', { phoneNumber, purpose: 'login' }).expect(200);
    await client.post('/sms/send-verification', { phoneNumber, purpose: 'login' }).expect(429);
    // Guesses at one number's live codes (two of them) from one client: the fourth is over
    // SMS_VERIFY_PHONE_LIMIT (3).
    const target = '+251912400003';
    const guesser = from('198.51.100.10');
    const guess = async (purpose: string, status: number) => {
      const code = codeIn(fake, target) === '000000' ? '111111' : '000000';
      await guesser.post('/sms/verify-code', { phoneNumber: target, code, purpose }).expect(status);
    };
    for (const purpose of ['login', 'registration']) {
      await guesser.post('/sms/send-verification', { phoneNumber: target, purpose }).expect(200);
    }
    await guess('login', 200);
    await guess('login', 200);
    await guess('registration', 200);
    await guess('registration', 429);
    const after = await snapshot();

    const layers = (snapshot: Json) =>
      Object.fromEntries(
        snapshot.summary.rateLimitedByLayer.map((row: Json) => [row.layer, row.count]),
      );
    const [was, now] = [layers(before), layers(after)];
    expect((now.purpose ?? 0) - (was.purpose ?? 0)).toBe(1);
    expect((now['verify-phone'] ?? 0) - (was['verify-phone'] ?? 0)).toBe(1);
    for (const [layer, count] of Object.entries(now)) {
      expect({
        layer,
        metric: sample(after.metrics, 'sms_rate_limit_rejections_total', { layer }),
      }).toEqual({ layer, metric: count });
    }
    expect(after.summary.counts.rateLimited).toBe(
      Object.values(now).reduce((total: number, count) => total + Number(count), 0),
    );
  });

  it('counts security incidents by kind in the report, the summary and /metrics', async () => {
    const before = await snapshot();
    // Code checks from one address past SMS_VERIFY_IP_LIMIT (5).
    const guesser = from('203.0.113.7');
    for (let check = 0; check < 5; check += 1) {
      await guesser
        .post('/sms/verify-code', {
          phoneNumber: `+25191250000${check}`,
          code: '123456',
          purpose: 'login',
        })
        .expect(404);
    }
    await guesser
      .post('/sms/verify-code', { phoneNumber: '+251912500009', code: '123456', purpose: 'login' })
      .expect(429);
    // Passwords for one number from one address past AUTH_PASSWORD_ATTEMPTS_LIMIT (2), then one
    // address past AUTH_PASSWORD_IP_ATTEMPTS_LIMIT (3) on other numbers.
    const victim = '+251912500100';
    await createUser(service, { phoneNumber: victim });
    const login = (ip: string, phoneNumber: string) =>
      from(ip).post('/auth/login', { phoneNumber, password: 'not-the-password-1' });
    await login('203.0.113.8', victim).expect(401);
    await login('203.0.113.9', victim).expect(401);
    await login('203.0.113.9', victim).expect(401);
    await login('203.0.113.9', victim).expect(429);
    for (const phoneNumber of ['+251912500101', '+251912500102', '+251912500103']) {
      await login('203.0.113.10', phoneNumber).expect(401);
    }
    await login('203.0.113.10', '+251912500104').expect(429);
    // A status callback without a signature.
    await service
      .http()
      .post('/webhooks/twilio/status')
      .set('Content-Type', 'application/x-www-form-urlencoded')
      .set('X-Forwarded-For', '203.0.113.11')
      .send('MessageSid=SM0123456789abcdef0123456789abcdef&MessageStatus=delivered')
      .expect(403);
    const after = await snapshot();

    const kinds = (snapshot: Json) =>
      Object.fromEntries(snapshot.security.byKind.map((row: Json) => [row.kind, row.count]));
    const [was, now] = [kinds(before), kinds(after)];
    const change = Object.fromEntries(
      Object.keys(now).map((kind) => [kind, now[kind] - (was[kind] ?? 0)]),
    );
    expect(change).toEqual({
      'code-attempts': 0,
      'verify-phone': 0,
      'verify-phone-ceiling': 0,
      'verify-ip': 1,
      'password-phone': 1,
      'password-phone-ceiling': 0,
      'password-ip': 1,
      'webhook-signature': 1,
    });
    expect(after.security.total - before.security.total).toBe(4);
    expect(after.summary.counts.securityIncidents).toBe(after.security.total);
    for (const [kind, count] of Object.entries(now)) {
      expect({
        kind,
        metric: sample(after.metrics, 'sms_security_incidents_total', { kind }),
      }).toEqual({ kind, metric: count });
    }
    expect(after.security.byKind.every((row: Json) => typeof row.meaning === 'string')).toBe(true);
    const rows = JSON.stringify(
      await service.app.get(DataSource).query(`SELECT * FROM sms_events`),
    );
    for (const address of ['203.0.113.7', '203.0.113.9', '203.0.113.10', '203.0.113.11']) {
      expect(rows).not.toContain(address);
    }
    expect(rows).not.toContain(victim.slice(1));
  });

  it('serves the security report to operators only, documented in Swagger', async () => {
    await service.http().get('/analytics/sms/security').expect(401);
    await service
      .http()
      .get('/analytics/sms/security?groupBy=hour&purpose=login&country=ET')
      .set(operator)
      .expect(200);
    await service.http().get('/analytics/sms/security?groupBy=month').set(operator).expect(400);
    const document = await service.http().get('/docs-json').expect(200);
    const route = document.body.paths['/analytics/sms/security'].get;
    expect(route.security).toEqual([{ operator: [] }]);
    expect(route.description).toContain('webhook-signature');
  });

  it('says which currency every amount is in', async () => {
    await from('198.51.100.30')
      .post('/sms/send-verification', { phoneNumber: '+251912400030', purpose: 'registration' })
      .expect(200);
    const { summary, get } = reports(service);
    expect((await summary()).cost).toMatchObject({ currency: 'EUR' });
    expect((await get('/analytics/sms/costs')).currency).toBe('EUR');
    expect((await get('/analytics/sms/countries')).currency).toBe('EUR');
  });
});

describe('Response-time percentiles in the reports', () => {
  let fake: FakeTwilioServer;
  let service: TestApp;

  beforeAll(async () => {
    fake = await startFakeTwilio();
    service = await startTestApp({ env: messagingEnv(fake, { ADMIN_API_KEY }) });
  });
  afterAll(async () => {
    await service.close();
    await fake.stop();
  });

  /** Events of one hour of 2026 with these response times, and that hour's summary. */
  async function summaryOf(hour: number, times: number[]) {
    const recorder = service.app.get(EventRecorder);
    for (const [index, responseTimeMs] of times.entries()) {
      recorder.enqueue({
        status: 'sent',
        occurredAt: new Date(Date.UTC(2026, 1, 3, hour, 10, index)),
        purpose: 'login',
        country: 'ET',
        channel: 'twilio-messaging',
        responseTimeMs,
      });
    }
    const from = new Date(Date.UTC(2026, 1, 3, hour)).toISOString();
    const to = new Date(Date.UTC(2026, 1, 3, hour + 1)).toISOString();
    return reports(service).summary(`?from=${from}&to=${to}`);
  }

  it('reads one 94 ms request as about 94 ms, never 50, and says it is approximate', async () => {
    const { responseTimeMs } = await summaryOf(1, [94]);
    expect(responseTimeMs.average).toBe(94);
    expect(responseTimeMs.p50).toBeGreaterThanOrEqual(94);
    expect(responseTimeMs.p50).toBeLessThanOrEqual(94 * 1.25);
    expect(responseTimeMs.approximate).toBe(true);
  });

  it('reads requests of 5-13 ms as 5-13 ms, not 50 and 95', async () => {
    const times = [5, 6, 7, 8, 9, 10, 11, 12, 13, 5, 7, 9, 11, 13, 6, 8, 10, 12, 13, 13];
    const { responseTimeMs } = await summaryOf(2, times);
    const sorted = [...times].sort((left, right) => left - right);
    const exact = (fraction: number) => sorted[Math.ceil(sorted.length * fraction) - 1];
    for (const [field, fraction] of [
      ['p50', 0.5],
      ['p95', 0.95],
    ] as const) {
      expect({ field, at: responseTimeMs[field] }).toEqual({
        field,
        at: expect.any(Number),
      });
      expect(responseTimeMs[field]).toBeGreaterThanOrEqual(exact(fraction));
      expect(responseTimeMs[field]).toBeLessThanOrEqual(exact(fraction) + 1);
    }
  });
});

describe('Report periods', () => {
  let fake: FakeTwilioServer;
  let service: TestApp;

  beforeAll(async () => {
    fake = await startFakeTwilio();
    service = await startTestApp({ env: messagingEnv(fake, { ADMIN_API_KEY }) });
    // Sunday 1 March 2026 late, Monday 2 March just after midnight, Sunday 8 March (UTC).
    for (const at of ['2026-03-01T23:30:00Z', '2026-03-02T00:30:00Z', '2026-03-08T23:59:00Z']) {
      service.app.get(EventRecorder).enqueue({
        status: 'sent',
        occurredAt: new Date(at),
        purpose: 'login',
        country: 'ET',
        channel: 'twilio-messaging',
      });
    }
  });
  afterAll(async () => {
    await service.close();
    await fake.stop();
  });

  const sentPer = async (groupBy: string, from = '2026-02-25T00:00:00Z') => {
    const { overTime } = await reports(service).get(
      `/analytics/sms/success-rates?groupBy=${groupBy}&from=${from}&to=2026-03-10T00:00:00Z`,
    );
    return Object.fromEntries(
      (overTime as { period: string; sent: number }[]).map(({ period, sent }) => [period, sent]),
    );
  };

  it('are UTC weeks from Monday, UTC days and hours', async () => {
    expect(await sentPer('week')).toEqual({
      '2026-02-23T00:00:00.000Z': 1,
      '2026-03-02T00:00:00.000Z': 2,
    });
    expect(await sentPer('day')).toEqual({
      '2026-03-01T00:00:00.000Z': 1,
      '2026-03-02T00:00:00.000Z': 1,
      '2026-03-08T00:00:00.000Z': 1,
    });
    expect(await sentPer('hour')).toEqual({
      '2026-03-01T23:00:00.000Z': 1,
      '2026-03-02T00:00:00.000Z': 1,
      '2026-03-08T23:00:00.000Z': 1,
    });
  });

  it('start with the whole hour that holds `from`', async () => {
    expect(await sentPer('hour', '2026-03-01T23:45:00Z')).toEqual({
      '2026-03-01T23:00:00.000Z': 1,
      '2026-03-02T00:00:00.000Z': 1,
      '2026-03-08T23:00:00.000Z': 1,
    });
  });
});

describe('Delivery of Twilio Verify sends', () => {
  let fake: FakeTwilioServer;
  let service: TestApp;

  beforeAll(async () => {
    fake = await startFakeTwilio();
    service = await startTestApp({
      skipAccountFilter: true,
      env: {
        ...RELAXED_LIMITS,
        SMS_PROVIDER: 'twilio-verify',
        TWILIO_ACCOUNT_SID: TEST_TWILIO.accountSid,
        TWILIO_AUTH_TOKEN: TEST_TWILIO.authToken,
        TWILIO_VERIFY_SERVICE_SID: TEST_TWILIO.verifyServiceSid,
        TWILIO_API_BASE_URL: fake.url,
        SMS_COUNTRY_LOCALES: 'ET:en',
        ADMIN_API_KEY,
      },
    });
  });
  afterAll(async () => {
    await service.close();
    await fake.stop();
  });

  it('is "not tracked" (null, with the untracked sends counted), never 0 %', async () => {
    const phoneNumber = '+251912600001';
    await service
      .http()
      .post('/sms/send-verification')
      .send({ phoneNumber, purpose: 'login' })
      .expect(200);
    await service
      .http()
      .post('/sms/verify-code')
      .send({ phoneNumber, code: fake.codeFor(phoneNumber), purpose: 'login' })
      .expect(200);
    const { summary, get } = reports(service);
    const all = await summary();
    expect(all).toMatchObject({
      counts: { sent: 1, verified: 1 },
      deliveryRate: null,
      delivery: { trackedSends: 0, untrackedSends: 1 },
      verificationRate: 1,
    });
    const rates = await get('/analytics/sms/success-rates');
    expect(rates.overTime).toEqual([
      expect.objectContaining({ sent: 1, untrackedSends: 1, deliveryRate: null }),
    ]);
    const countries = await get('/analytics/sms/countries');
    expect(countries.countries).toEqual([
      expect.objectContaining({ country: 'ET', untrackedSends: 1, deliveryRate: null }),
    ]);
  });
});
