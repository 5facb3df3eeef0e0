import { createHmac } from 'node:crypto';
import { DataSource } from 'typeorm';
import { DeliveryTrackingService } from '../../src/analytics/delivery/delivery-tracking.service';
import { AnalyticsDatabase } from '../../src/analytics/analytics-database';
import { EventRecorder } from '../../src/analytics/events/event-recorder';
import { Hasher } from '../../src/common/hasher';
import { FakeTwilioServer, StatusCallbackRequest } from '../fakes/fake-twilio-server';
import { createEmptyDatabase, dropTestDatabase } from '../support/databases';
import { messagingEnv, startFakeTwilio } from '../support/fake-twilio-app';
import { TEST_TWILIO } from '../support/twilio-test-credentials';
import { TestApp, startTestApp } from '../support/test-app';

const ADMIN_API_KEY = 'analytics-operator-key-0123456789abcdef';
const PUBLIC_BASE_URL = 'https://sms.example.com';

function env(fake: FakeTwilioServer, extra: Record<string, string> = {}): Record<string, string> {
  return messagingEnv(fake, {
    PUBLIC_BASE_URL,
    ADMIN_API_KEY,
    TWILIO_PRICE_FETCH_DELAY_MS: '0',
    SMS_PRICES: 'ET:0.05',
    ...extra,
  });
}

describe('Delivery tracking and analytics', () => {
  let fake: FakeTwilioServer;
  let service: TestApp;
  let counter = 0;
  const operator = { Authorization: `Bearer ${ADMIN_API_KEY}` };

  beforeAll(async () => {
    fake = await startFakeTwilio();
    service = await startTestApp({
      skipAccountFilter: true,
      env: env(fake),
    });
  });
  afterAll(async () => {
    await service.close();
    await fake.stop();
  });

  const nextPhone = () => `+2519120${String((counter += 1)).padStart(5, '0')}`;

  async function sendTo(phoneNumber: string, purpose = 'login') {
    await service.http().post('/sms/send-verification').send({ phoneNumber, purpose }).expect(200);
    return fake.lastMessageTo(phoneNumber)!;
  }

  function post(callback: StatusCallbackRequest, overrides: Record<string, string> = {}) {
    return service
      .http()
      .post('/webhooks/twilio/status')
      .set('Content-Type', 'application/x-www-form-urlencoded')
      .set(callback.headers)
      .send(overrides.body ?? callback.body);
  }

  async function summary(query = '') {
    await service.app.get(EventRecorder).flush();
    const response = await service
      .http()
      .get(`/analytics/sms/summary${query}`)
      .set(operator)
      .expect(200);
    return response.body;
  }

  async function eventTrail(verificationId: string): Promise<string[]> {
    await service.app.get(EventRecorder).flush();
    const rows = await service.app
      .get(DataSource)
      .query(
        `SELECT status FROM sms_events WHERE verification_id = $1 ORDER BY occurred_at, status`,
        [verificationId],
      );
    return rows.map((row: { status: string }) => row.status);
  }

  async function verificationIdOf(messageSid: string): Promise<string> {
    const [row] = await service.app
      .get(DataSource)
      .query(`SELECT id FROM sms_verifications WHERE message_sid = $1`, [messageSid]);
    return row.id;
  }

  it('turns a send, a signed delivered callback and a verification into one event trail', async () => {
    const before = await summary();
    const phoneNumber = nextPhone();
    const message = await sendTo(phoneNumber);
    await post(fake.prepareStatusCallback(message.sid, 'delivered')).expect(204);
    const code = /(\d{6})/.exec(message.body)![1];
    await service
      .http()
      .post('/sms/verify-code')
      .send({ phoneNumber, code, purpose: 'login' })
      .expect(200);

    expect(await eventTrail(await verificationIdOf(message.sid))).toEqual([
      'sent',
      'delivered',
      'verified',
    ]);
    const after = await summary();
    expect(after.counts.sent - before.counts.sent).toBe(1);
    expect(after.counts.delivered - before.counts.delivered).toBe(1);
    expect(after.counts.verified - before.counts.verified).toBe(1);
    expect(after.deliveryRate).toBe(1);
    expect(after.verificationRate).toBe(1);
    expect(after.responseTimeMs.p50).toEqual(expect.any(Number));
    expect(after.cost.total).toBeGreaterThan(before.cost.total);
  });

  it('refuses unsigned, tampered and wrongly-URL-signed callbacks with 403, changing nothing', async () => {
    const message = await sendTo(nextPhone());
    const verificationId = await verificationIdOf(message.sid);
    const genuine = fake.prepareStatusCallback(message.sid, 'undelivered', { errorCode: 30003 });

    const unsigned = { ...genuine, headers: {} };
    const response = await post(unsigned).expect(403);
    expect(response.body).toMatchObject({ success: false, error: 'INVALID_SIGNATURE' });
    await post(genuine, { body: genuine.body.replace('30003', '30005') }).expect(403);

    const otherUrl = 'https://attacker.example.net/webhooks/twilio/status';
    const data =
      otherUrl +
      Object.keys(genuine.params)
        .sort()
        .map((key) => key + genuine.params[key])
        .join('');
    const wrongUrlSignature = createHmac('sha1', TEST_TWILIO.authToken)
      .update(data)
      .digest('base64');
    await post({ ...genuine, headers: { 'X-Twilio-Signature': wrongUrlSignature } }).expect(403);

    // Host and forwarding headers cannot choose the URL that is checked.
    await service
      .http()
      .post('/webhooks/twilio/status')
      .set('Content-Type', 'application/x-www-form-urlencoded')
      .set('Host', 'attacker.example.net')
      .set('X-Forwarded-Host', 'attacker.example.net')
      .set('X-Forwarded-Proto', 'https')
      .set('X-Twilio-Signature', wrongUrlSignature)
      .send(genuine.body)
      .expect(403);

    expect(await eventTrail(verificationId)).toEqual(['sent']);
  });

  it('ignores a duplicate and an out-of-order callback', async () => {
    const message = await sendTo(nextPhone());
    const verificationId = await verificationIdOf(message.sid);
    await post(fake.prepareStatusCallback(message.sid, 'delivered')).expect(204);
    await post(fake.prepareStatusCallback(message.sid, 'delivered')).expect(204);
    await post(fake.prepareStatusCallback(message.sid, 'sent')).expect(204);
    expect(await eventTrail(verificationId)).toEqual(['sent', 'delivered']);
    const [row] = await service.app
      .get(DataSource)
      .query(`SELECT status FROM sms_messages WHERE sid = $1`, [message.sid]);
    expect(row.status).toBe('delivered');
  });

  it('suppresses a number after a 30003 failure: sends answer as usual but deliver nothing', async () => {
    const phoneNumber = nextPhone();
    const message = await sendTo(phoneNumber);
    await post(fake.prepareStatusCallback(message.sid, 'undelivered', { errorCode: 30003 })).expect(
      204,
    );
    const sentBefore = fake.messages.length;
    const response = await service
      .http()
      .post('/sms/send-verification')
      .send({ phoneNumber, purpose: 'registration' })
      .expect(200);
    expect(response.body).toMatchObject({ status: 'pending', valid: false, to: phoneNumber });
    expect(fake.messages.length).toBe(sentBefore);

    await service.app.get(EventRecorder).flush();
    const failures = await service.http().get('/analytics/sms/failures').set(operator).expect(200);
    expect(failures.body.topErrors).toEqual(
      expect.arrayContaining([
        expect.objectContaining({
          errorCode: '30003',
          status: 'undelivered',
          meaning: 'Unreachable destination handset',
        }),
      ]),
    );
    expect(JSON.stringify(failures.body)).not.toContain(phoneNumber.slice(1));
  });

  it("replaces the estimated cost with Twilio's price once it is known", async () => {
    const message = await sendTo(nextPhone());
    await post(fake.prepareStatusCallback(message.sid, 'delivered')).expect(204);
    await service.app.get(EventRecorder).flush();
    expect(await service.app.get(DeliveryTrackingService).fetchDuePrices()).toBeGreaterThanOrEqual(
      1,
    );
    const [event] = await service.app
      .get(DataSource)
      .query(
        `SELECT cost, cost_source FROM sms_events WHERE provider_sid = $1 AND status = 'sent'`,
        [message.sid],
      );
    expect(event.cost_source).toBe('twilio');
    const costs = await service.http().get('/analytics/sms/costs').set(operator).expect(200);
    expect(costs.body.source).toMatch(/^(mixed|twilio)$/);
    expect(costs.body.perCountry).toEqual(
      expect.arrayContaining([expect.objectContaining({ country: 'ET' })]),
    );
  });

  it('answers every report for operators only, and refuses bad filters with 400', async () => {
    for (const path of ['summary', 'success-rates', 'costs', 'countries', 'failures']) {
      await service.http().get(`/analytics/sms/${path}`).expect(401);
      await service
        .http()
        .get(`/analytics/sms/${path}?groupBy=hour&purpose=login&country=ET`)
        .set(operator)
        .expect(200);
    }
    const inverted = await service
      .http()
      .get('/analytics/sms/summary?from=2026-11-10T00:00:00Z&to=2026-11-01T00:00:00Z')
      .set(operator)
      .expect(400);
    expect(inverted.body).toMatchObject({ success: false, error: 'INVALID_RANGE' });
    await service.http().get('/analytics/sms/summary?from=yesterday').set(operator).expect(400);
    await service.http().get('/analytics/sms/summary?groupBy=month').set(operator).expect(400);
  });

  it('stores every field of a batch of events as given, awkward text and missing values included', async () => {
    const recorder = service.app.get(EventRecorder);
    await recorder.flush();
    const verificationId = '0b7e3c1a-7f0e-4c55-9a43-2d7a51f0c9e1';
    const awkward = [
      'Mozilla/5.0 (X11; "quoted", {braced}) back\\slash',
      'NULL',
      '',
      'የአማርኛ ጽሑፍ, with a comma',
    ];
    awkward.forEach((userAgent, index) =>
      recorder.enqueue({
        status: 'failed',
        occurredAt: new Date(Date.UTC(2026, 0, 2, 3, 4, 5, index)),
        verificationId,
        purpose: 'login',
        country: 'ET',
        cost: 0.012345,
        currency: 'USD',
        costSource: 'estimate',
        errorCode: '30003',
        errorMessage: `Unreachable "destination" #${index}`,
        userAgent,
        segments: index,
        layer: index === 0 ? undefined : 'phone',
      }),
    );
    await recorder.flush();

    const rows = await service.app.get(DataSource).query(
      `SELECT user_agent, error_message, segments, layer, cost::text AS cost, occurred_at, phone_hash
         FROM sms_events WHERE verification_id = $1 ORDER BY occurred_at`,
      [verificationId],
    );
    expect(rows.map((row: { user_agent: string }) => row.user_agent)).toEqual(awkward);
    expect(rows.map((row: { error_message: string }) => row.error_message)).toEqual(
      awkward.map((_, index) => `Unreachable "destination" #${index}`),
    );
    expect(rows.map((row: { segments: number }) => row.segments)).toEqual([0, 1, 2, 3]);
    expect(rows.map((row: { layer: string | null }) => row.layer)).toEqual([
      null,
      'phone',
      'phone',
      'phone',
    ]);
    expect(rows[0].cost).toBe('0.012345');
    expect(rows[0].phone_hash).toBeNull();
    expect((rows[3].occurred_at as Date).toISOString()).toBe('2026-01-02T03:04:05.003Z');
  });

  it('stores and counts a batch once when the answer to its committed write was lost', async () => {
    // The connection drops after PostgreSQL committed the batch: the recorder sees an error and
    // writes the same batch again once the database answers.
    const recorder = service.app.get(EventRecorder);
    const database = service.app.get(AnalyticsDatabase);
    await recorder.flush();
    const verificationId = '5d0c9f1e-2b7a-4c3d-8e6f-0a1b2c3d4e5f';
    const occurredAt = new Date(Date.UTC(2026, 0, 3, 4, 5, 6));
    const rolledUp = async () => {
      const [row] = await service.app.get(DataSource).query(
        `SELECT COALESCE(sum(events), 0)::int AS events FROM sms_event_rollups
          WHERE bucket = $1 AND country_code = 'KE' AND status = 'failed'`,
        [new Date(Date.UTC(2026, 0, 3, 4))],
      );
      return row.events as number;
    };
    for (let index = 0; index < 3; index += 1) {
      recorder.enqueue({ status: 'failed', occurredAt, verificationId, country: 'KE' });
    }
    const answered = database.prepared.bind(database);
    const write = jest
      .spyOn(database, 'prepared')
      .mockImplementationOnce(async (name, text, values) => {
        await answered(name, text, values);
        throw new Error('Connection terminated unexpectedly');
      });
    await recorder.flush();
    await recorder.flush();
    expect(write).toHaveBeenCalledTimes(2);
    write.mockRestore();

    const rows = await service.app
      .get(DataSource)
      .query(`SELECT id FROM sms_events WHERE verification_id = $1`, [verificationId]);
    expect(rows).toHaveLength(3);
    expect(await rolledUp()).toBe(3);
  });

  it('keeps phone numbers and IPs out of analytics rows', async () => {
    const phoneNumber = nextPhone();
    await sendTo(phoneNumber);
    await service.app.get(EventRecorder).flush();
    const rows = await service.app.get(DataSource).query(`SELECT * FROM sms_events`);
    const dump = JSON.stringify(rows);
    expect(dump).not.toContain(phoneNumber.slice(1));
    expect(dump).not.toContain('127.0.0.1');
    const hash = service.app.get(Hasher).hash('phone', phoneNumber);
    expect(rows.some((row: { phone_hash: string }) => row.phone_hash === hash)).toBe(true);
  });
});

describe('Analytics switched off', () => {
  let fake: FakeTwilioServer;
  let service: TestApp;

  beforeAll(async () => {
    fake = await startFakeTwilio();
    service = await startTestApp({
      skipAccountFilter: true,
      env: env(fake, { ENABLE_SMS_ANALYTICS: 'false' }),
    });
  });
  afterAll(async () => {
    await service.close();
    await fake.stop();
  });

  it('records no events', async () => {
    await service
      .http()
      .post('/sms/send-verification')
      .send({ phoneNumber: '+251912900001', purpose: 'login' })
      .expect(200);
    await service.app.get(EventRecorder).flush();
    const [row] = await service.app
      .get(DataSource)
      .query(`SELECT count(*)::int AS count FROM sms_events`);
    expect(row.count).toBe(0);
  });
});

describe('Analytics in a database of their own (ANALYTICS_DB_URL)', () => {
  let fake: FakeTwilioServer;
  let service: TestApp;
  let analyticsDatabase: { name: string; url: string };

  beforeAll(async () => {
    fake = await startFakeTwilio();
    analyticsDatabase = await createEmptyDatabase();
    service = await startTestApp({
      skipAccountFilter: true,
      env: env(fake, { ANALYTICS_DB_URL: analyticsDatabase.url }),
    });
  });
  afterAll(async () => {
    await service.close();
    await fake.stop();
    await dropTestDatabase(analyticsDatabase.name);
  });

  it('writes events there, not in the main database', async () => {
    await service
      .http()
      .post('/sms/send-verification')
      .send({ phoneNumber: '+251912900002', purpose: 'login' })
      .expect(200);
    await service.app.get(EventRecorder).flush();
    const [main] = await service.app
      .get(DataSource)
      .query(`SELECT count(*)::int AS count FROM sms_events`);
    expect(main.count).toBe(0);
    const other = new DataSource({ type: 'postgres', url: analyticsDatabase.url });
    await other.initialize();
    try {
      const [row] = await other.query(
        `SELECT count(*)::int AS count FROM sms_events WHERE status = 'sent'`,
      );
      expect(row.count).toBe(1);
    } finally {
      await other.destroy();
    }
    const summary = await service
      .http()
      .get('/analytics/sms/summary')
      .set('Authorization', `Bearer ${ADMIN_API_KEY}`)
      .expect(200);
    expect(summary.body.counts.sent).toBe(1);
  });
});

describe('Carrier from Twilio Lookup (TWILIO_LOOKUP_ENABLED=true)', () => {
  let fake: FakeTwilioServer;
  let service: TestApp;

  beforeAll(async () => {
    fake = await startFakeTwilio();
    service = await startTestApp({
      skipAccountFilter: true,
      env: env(fake, { TWILIO_LOOKUP_ENABLED: 'true' }),
    });
  });
  afterAll(async () => {
    await service.close();
    await fake.stop();
  });

  it('records the carrier on sent events and looks each number up once', async () => {
    const phoneNumber = '+251912900003';
    fake.setLineType(phoneNumber, { carrier_name: 'Ethio Telecom', type: 'mobile' });
    await service
      .http()
      .post('/sms/send-verification')
      .send({ phoneNumber, purpose: 'login' })
      .expect(200);
    await service
      .http()
      .post('/sms/send-verification')
      .send({ phoneNumber, purpose: 'login' })
      .expect(200);
    await service.app.get(EventRecorder).flush();
    const rows = await service.app
      .get(DataSource)
      .query(`SELECT carrier FROM sms_events WHERE status = 'sent'`);
    expect(rows.map((row: { carrier: string }) => row.carrier)).toEqual([
      'Ethio Telecom',
      'Ethio Telecom',
    ]);
    const lookups = fake.requests.filter((request) => request.path.startsWith('/v2/PhoneNumbers/'));
    expect(lookups).toHaveLength(1);
  });
});
