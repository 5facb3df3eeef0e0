import { setTimeout as sleep } from 'node:timers/promises';
import { Client } from 'pg';
import { FakeTwilioServer } from '../fakes/fake-twilio-server';
import { messagingEnv, startFakeTwilio } from '../support/fake-twilio-app';
import { TestApp, startTestApp } from '../support/test-app';
import { TEST_TWILIO } from '../support/twilio-test-credentials';

const ADMIN_API_KEY = 'twilio-faults-operator-key-0123456789ab';
const TIMEOUT_MS = 300;

/** Sends through Messaging with a short Twilio timeout; `extra` sets the circuit. */
function faultEnv(fake: FakeTwilioServer, extra: Record<string, string>): Record<string, string> {
  return messagingEnv(fake, { TWILIO_TIMEOUT_MS: String(TIMEOUT_MS), ADMIN_API_KEY, ...extra });
}

function messageRequests(fake: FakeTwilioServer): number {
  return fake.requests.filter((request) => request.path.endsWith('/Messages.json')).length;
}

function send(service: TestApp, phoneNumber: string, locale?: string) {
  return service
    .http()
    .post('/sms/send-verification')
    .send({ phoneNumber, purpose: 'login', locale });
}

function verify(service: TestApp, phoneNumber: string, code = '123456') {
  return service.http().post('/sms/verify-code').send({ phoneNumber, code, purpose: 'login' });
}

async function circuitGauge(service: TestApp, provider: string): Promise<string | undefined> {
  const response = await service
    .http()
    .get('/metrics')
    .set('Authorization', `Bearer ${ADMIN_API_KEY}`)
    .expect(200);
  const line = response.text
    .split('\n')
    .find((candidate) =>
      candidate.startsWith(`sms_provider_circuit_open{provider="${provider}"} `),
    );
  return line?.split(' ')[1];
}

describe('Twilio failures answer clearly and never send twice', () => {
  let fake: FakeTwilioServer;
  let service: TestApp;

  beforeAll(async () => {
    fake = await startFakeTwilio();
    // The circuit stays out of the way here: each test below is one outage in a row.
    service = await startTestApp({
      skipAccountFilter: true,
      env: faultEnv(fake, { TWILIO_CIRCUIT_FAILURES: '100' }),
    });
  });
  afterAll(async () => {
    await service?.close();
    await fake?.stop();
  });
  beforeEach(() => fake.reset());

  it('answers a Twilio slower than the timeout with 503, once, leaving nothing live', async () => {
    const phoneNumber = '+251911300001';
    fake.failNext(1, { delayMs: 1_000 });

    const started = Date.now();
    const response = await send(service, phoneNumber).expect(503);

    expect(Date.now() - started).toBeLessThan(1_000);
    expect(response.body).toMatchObject({
      success: false,
      error: 'SMS_PROVIDER_UNAVAILABLE',
      retryAfter: 30,
    });
    expect(response.headers['retry-after']).toBe('30');
    expect(messageRequests(fake)).toBe(1);
    await verify(service, phoneNumber).expect(404);
  });

  it.each([500, 502, 503])('answers a Twilio %i with 503 and Retry-After', async (status) => {
    fake.failNext(1, { status });

    const response = await send(service, '+251911300002').expect(503);

    expect(response.body).toMatchObject({ error: 'SMS_PROVIDER_UNAVAILABLE', retryAfter: 30 });
    expect(response.headers['retry-after']).toBe('30');
    expect(messageRequests(fake)).toBe(1);
  });

  it('answers a dropped connection with 503 without sending again', async () => {
    fake.failNext(1, { destroySocket: true });

    await send(service, '+251911300003').expect(503);

    expect(messageRequests(fake)).toBe(1);
  });

  it('answers a refused connection with 503 and recovers when Twilio is back', async () => {
    const phoneNumber = '+251911300004';
    await fake.refuseConnections();
    try {
      const response = await send(service, phoneNumber).expect(503);
      expect(response.body).toMatchObject({ error: 'SMS_PROVIDER_UNAVAILABLE', retryAfter: 30 });
      expect(response.headers['retry-after']).toBe('30');
      await verify(service, phoneNumber).expect(404);
    } finally {
      await fake.acceptConnections();
    }

    await send(service, phoneNumber).expect(200);
    expect(fake.lastMessageTo(phoneNumber)).toBeDefined();
  });

  it('passes Twilio rate limiting (20429) on as 429 with retryAfter', async () => {
    fake.failNext(1, { status: 429, code: 20429 });

    const response = await send(service, '+251911300005').expect(429);

    expect(response.body).toMatchObject({
      success: false,
      error: 'SMS_PROVIDER_RATE_LIMITED',
      retryAfter: 60,
    });
    expect(response.headers['retry-after']).toBe('60');
    expect(messageRequests(fake)).toBe(1);
  });
});

describe('the Twilio circuit breaker', () => {
  const FAILURES = 3;
  const HALF_OPEN_AFTER_MS = 500;
  let fake: FakeTwilioServer;
  let service: TestApp;

  beforeAll(async () => {
    fake = await startFakeTwilio();
    service = await startTestApp({
      skipAccountFilter: true,
      env: faultEnv(fake, {
        TWILIO_CIRCUIT_FAILURES: String(FAILURES),
        TWILIO_CIRCUIT_HALF_OPEN_AFTER_MS: String(HALF_OPEN_AFTER_MS),
      }),
    });
  });
  afterAll(async () => {
    await service?.close();
    await fake?.stop();
  });
  beforeEach(() => fake.reset());

  it('never opens on answers about the request (Fraud Guard 60410)', async () => {
    fake.failNext(FAILURES + 2, { status: 403, code: 60410 });
    for (let index = 0; index < FAILURES + 2; index += 1) {
      await send(service, `+25191130010${index}`).expect(400);
    }
    // An answer also ends a run of outages: these never add up to FAILURES in a row.
    fake.failNext(FAILURES - 1, { status: 503 });
    fake.failNext(1, { status: 403, code: 60410 });
    fake.failNext(FAILURES - 1, { status: 503 });
    for (let index = 0; index < 2 * FAILURES - 1; index += 1) {
      await send(service, `+25191130011${index}`);
    }
    const before = fake.requests.length;

    await send(service, '+251911300120').expect(200);

    expect(fake.requests.length).toBe(before + 1);
    expect(await circuitGauge(service, 'twilio-messaging')).toBe('0');
  });

  it('opens after consecutive outages, fails fast without Twilio, and closes after a probe', async () => {
    fake.failNext(1, { delayMs: 1_000 });
    fake.failNext(1, { status: 500 });
    fake.failNext(1, { destroySocket: true });
    for (let index = 0; index < FAILURES; index += 1) {
      await send(service, `+25191130020${index}`).expect(503);
    }
    expect(fake.requests).toHaveLength(FAILURES);

    const phoneNumber = '+251911300210';
    const refused = await send(service, phoneNumber).expect(503);

    expect(fake.requests).toHaveLength(FAILURES);
    expect(refused.body).toMatchObject({
      success: false,
      error: 'SMS_PROVIDER_UNAVAILABLE',
      retryAfter: 1,
    });
    expect(refused.headers['retry-after']).toBe('1');
    await verify(service, phoneNumber).expect(404);
    expect(await circuitGauge(service, 'twilio-messaging')).toBe('1');

    await sleep(HALF_OPEN_AFTER_MS + 100);
    await send(service, phoneNumber).expect(200);
    expect(fake.requests).toHaveLength(FAILURES + 1);
    expect(await circuitGauge(service, 'twilio-messaging')).toBe('0');
    await send(service, '+251911300211').expect(200);
    expect(fake.lastMessageTo(phoneNumber)).toBeDefined();
    expect(fake.lastMessageTo('+251911300211')).toBeDefined();

    const logged = (level: number, text: string) =>
      service.logs.filter((line) => line.level === level && String(line.msg).includes(text));
    expect(logged(40, 'twilio-messaging circuit opened')).toHaveLength(1);
    expect(logged(30, 'twilio-messaging circuit closed')).toHaveLength(1);
  });
});

describe('an open Twilio circuit', () => {
  const HALF_OPEN_AFTER_MS = 20_000;
  let fake: FakeTwilioServer;
  let service: TestApp;

  beforeAll(async () => {
    fake = await startFakeTwilio();
    service = await startTestApp({
      skipAccountFilter: true,
      env: faultEnv(fake, {
        SMS_PROVIDER: 'twilio-verify',
        TWILIO_VERIFY_SERVICE_SID: TEST_TWILIO.verifyServiceSid,
        TWILIO_CIRCUIT_FAILURES: '1',
        TWILIO_CIRCUIT_HALF_OPEN_AFTER_MS: String(HALF_OPEN_AFTER_MS),
      }),
    });
  });
  afterAll(async () => {
    await service?.close();
    await fake?.stop();
  });

  it('answers with Retry-After of the time it stays open, for sends and checks alike', async () => {
    const phoneNumber = '+251911300301';
    await send(service, phoneNumber, 'en').expect(200);
    const code = fake.codeFor(phoneNumber);
    fake.failNext(1, { status: 503 });
    await send(service, '+251911300302', 'en').expect(503);
    const requests = fake.requests.length;

    const sent = await send(service, '+251911300303', 'en').expect(503);
    const checked = await verify(service, phoneNumber, code).expect(503);

    expect(fake.requests).toHaveLength(requests);
    for (const response of [sent, checked]) {
      expect(response.body).toMatchObject({ error: 'SMS_PROVIDER_UNAVAILABLE' });
      expect(response.body.retryAfter).toBeGreaterThanOrEqual(HALF_OPEN_AFTER_MS / 1000 - 2);
      expect(response.body.retryAfter).toBeLessThanOrEqual(HALF_OPEN_AFTER_MS / 1000);
      expect(response.headers['retry-after']).toBe(String(response.body.retryAfter));
    }
    expect(await circuitGauge(service, 'twilio-verify')).toBe('1');
  });
});

describe('a database failure after Twilio accepted the message', () => {
  let fake: FakeTwilioServer;
  let service: TestApp;
  let database: Client;

  beforeAll(async () => {
    fake = await startFakeTwilio();
    service = await startTestApp({ skipAccountFilter: true, env: messagingEnv(fake) });
    database = new Client({ connectionString: service.databaseUrl });
    await database.connect();
    // Only the note of the message sid fails: the row (and its code) was written before the send.
    await database.query(`
      CREATE FUNCTION refuse_message_sid() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN RAISE EXCEPTION 'message_sid refused by the test'; END $$;
      CREATE TRIGGER refuse_message_sid BEFORE UPDATE OF message_sid ON sms_verifications
        FOR EACH ROW EXECUTE FUNCTION refuse_message_sid();`);
  });
  afterAll(async () => {
    await database?.end();
    await service?.close();
    await fake?.stop();
  });

  it('still answers 200, so the client does not ask for a second SMS, and the code verifies', async () => {
    const phoneNumber = '+251911300400';
    await send(service, phoneNumber).expect(200);
    expect(messageRequests(fake)).toBe(1);
    expect(service.logs.some((line) => line.msg === 'could not record the provider sids')).toBe(
      true,
    );

    const code = /(\d{6})/.exec(fake.lastMessageTo(phoneNumber)!.body)![1];
    const verified = await verify(service, phoneNumber, code).expect(200);
    expect(verified.body).toMatchObject({ status: 'approved', valid: true });
    expect(messageRequests(fake)).toBe(1);
  });
});
