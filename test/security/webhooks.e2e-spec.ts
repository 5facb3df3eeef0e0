import { createHmac } from 'node:crypto';
import supertest from 'supertest';
import { DataSource } from 'typeorm';
import { EventRecorder } from '../../src/analytics/events/event-recorder';
import { FakeTwilioServer, StatusCallbackRequest } from '../fakes/fake-twilio-server';
import { messagingEnv, startFakeTwilio } from '../support/fake-twilio-app';
import { TestApp, startTestApp } from '../support/test-app';
import { TEST_TWILIO } from '../support/twilio-test-credentials';
import { REQUEST_TIMEOUT_MS, envelopeProblem } from './support/http';
import { SecretLedger, findLeaks } from './support/leak-scan';

const PUBLIC_BASE_URL = 'https://sms.example.com';
const CALLBACK_PATH = '/webhooks/twilio/status';
const CALLBACK_URL = `${PUBLIC_BASE_URL}${CALLBACK_PATH}`;
const BODY_LIMIT_BYTES = 4096;
const FORM = 'application/x-www-form-urlencoded';

/**
 * Twilio's request signature, written from its documentation rather than taken from the SDK the
 * service uses: the URL, then each parameter name followed by its value(s) in name order,
 * HMAC-SHA1 with the auth token, base64.
 */
function sign(url: string, params: Record<string, string | string[]>, authToken: string): string {
  const data = Object.keys(params)
    .sort()
    .reduce((text, name) => {
      const values = ([] as string[]).concat(params[name]).sort();
      return text + values.map((value) => name + value).join('');
    }, url);
  return createHmac('sha1', authToken).update(Buffer.from(data, 'utf8')).digest('base64');
}

function formBody(params: Record<string, string | string[]>): string {
  const search = new URLSearchParams();
  for (const [name, value] of Object.entries(params)) {
    for (const item of ([] as string[]).concat(value)) search.append(name, item);
  }
  return search.toString();
}

/**
 * Twilio status callbacks under attack (docs/SECURITY.md rule 10): only a request Twilio
 * signed for PUBLIC_BASE_URL + path is processed, a replay changes nothing, and no malformed or
 * oversized request gets past a 4xx.
 */
describe('Twilio status webhooks under attack', () => {
  let fake: FakeTwilioServer;
  let service: TestApp;
  const ledger = new SecretLedger();
  let counter = 0;

  const nextPhone = () => ledger.phone(`+2519170${String((counter += 1)).padStart(5, '0')}`);

  beforeAll(async () => {
    fake = await startFakeTwilio();
    service = await startTestApp({
      skipAccountFilter: true,
      env: messagingEnv(fake, {
        PUBLIC_BASE_URL,
        BODY_LIMIT_BYTES: String(BODY_LIMIT_BYTES),
      }),
    });
  });
  afterAll(async () => {
    await service?.close();
    await fake?.stop();
  });

  async function sentMessage(): Promise<string> {
    const phoneNumber = nextPhone();
    await service
      .http()
      .post('/sms/send-verification')
      .send({ phoneNumber, purpose: 'login' })
      .expect(200);
    return fake.lastMessageTo(phoneNumber)!.sid;
  }

  function post(
    body: string | object,
    headers: Record<string, string>,
    path = CALLBACK_PATH,
  ): supertest.Test {
    return service.http().post(path).set(headers).send(body).timeout(REQUEST_TIMEOUT_MS);
  }

  function deliver(callback: StatusCallbackRequest): supertest.Test {
    return post(callback.body, callback.headers);
  }

  function signedForm(params: Record<string, string | string[]>): supertest.Test {
    return post(formBody(params), {
      'Content-Type': FORM,
      'X-Twilio-Signature': sign(CALLBACK_URL, params, TEST_TWILIO.authToken),
    });
  }

  /**
   * Every row a callback could change, after pending analytics events are written; refused
   * callbacks are security incidents (counted apart, see webhookSignatureIncidents).
   */
  async function deliveryState(): Promise<unknown> {
    await service.app.get(EventRecorder).flush();
    const dataSource = service.app.get(DataSource);
    return {
      messages: await dataSource.query(`SELECT * FROM sms_messages ORDER BY sid`),
      events: await dataSource.query(
        `SELECT * FROM sms_events WHERE status <> 'security' ORDER BY id`,
      ),
      rollups: await dataSource.query(
        `SELECT * FROM sms_event_rollups WHERE status <> 'security'
          ORDER BY bucket, country_code, purpose, status, detail`,
      ),
      suppressions: await dataSource.query(`SELECT * FROM sms_suppressions ORDER BY phone_hash`),
    };
  }

  async function webhookSignatureIncidents(): Promise<number> {
    await service.app.get(EventRecorder).flush();
    const [row] = await service.app
      .get(DataSource)
      .query(
        `SELECT count(*)::int AS count FROM sms_events WHERE status = 'security' AND layer = 'webhook-signature'`,
      );
    return row.count;
  }

  function expectRefused(response: supertest.Response, status: number, error: string): void {
    expect({ status: response.status, body: response.body }).toEqual({
      status,
      body: expect.objectContaining({ success: false, error }),
    });
    expect(envelopeProblem(response)).toBeUndefined();
  }

  it('processes a genuine signed callback', async () => {
    const sid = await sentMessage();
    const response = await deliver(fake.prepareStatusCallback(sid, 'delivered'));
    expect(response.status).toBe(204);
    const [row] = await service.app
      .get(DataSource)
      .query(`SELECT status FROM sms_messages WHERE sid = $1`, [sid]);
    expect(row.status).toBe('delivered');
  });

  it('refuses unsigned and tampered callbacks with 403, changing nothing', async () => {
    const sid = await sentMessage();
    const genuine = fake.prepareStatusCallback(sid, 'undelivered', { errorCode: 30003 });
    const before = await deliveryState();
    const incidentsBefore = await webhookSignatureIncidents();
    const { 'x-twilio-signature': signature, ...unsigned } = genuine.headers;
    const tampered: [string, Record<string, string>][] = [
      ['no signature', unsigned],
      ['an empty signature', { ...unsigned, 'X-Twilio-Signature': '' }],
      ['a signature in other case', { ...unsigned, 'X-Twilio-Signature': signature.toLowerCase() }],
      [
        'a signature made with another auth token',
        {
          ...unsigned,
          'X-Twilio-Signature': sign(CALLBACK_URL, genuine.params, 'another-auth-token-0123456789'),
        },
      ],
    ];
    for (const [, headers] of tampered) {
      expectRefused(await post(genuine.body, headers), 403, 'INVALID_SIGNATURE');
    }

    const changedParams: Record<string, string>[] = [
      { ...genuine.params, ErrorCode: '30005' },
      { ...genuine.params, MessageStatus: 'delivered', SmsStatus: 'delivered' },
      { ...genuine.params, Extra: 'added' },
      Object.fromEntries(Object.entries(genuine.params).filter(([name]) => name !== 'ErrorCode')),
    ];
    for (const params of changedParams) {
      const response = await post(formBody(params), genuine.headers);
      expectRefused(response, 403, 'INVALID_SIGNATURE');
    }
    expect(await deliveryState()).toEqual(before);
    // Each refusal is one security incident.
    expect((await webhookSignatureIncidents()) - incidentsBefore).toBe(
      tampered.length + changedParams.length,
    );
  });

  it('refuses callbacks signed for any URL but PUBLIC_BASE_URL + path, whatever the Host says', async () => {
    const sid = await sentMessage();
    const genuine = fake.prepareStatusCallback(sid, 'delivered');
    const before = await deliveryState();
    const otherUrls = [
      `https://attacker.example.net${CALLBACK_PATH}`,
      `http://sms.example.com${CALLBACK_PATH}`,
      `${CALLBACK_URL}/`,
      `${CALLBACK_URL}?replay=1`,
      `https://sms.example.com:8443${CALLBACK_PATH}`,
    ];
    for (const url of otherUrls) {
      const signature = sign(url, genuine.params, TEST_TWILIO.authToken);
      const response = await post(genuine.body, {
        'Content-Type': FORM,
        'X-Twilio-Signature': signature,
        Host: new URL(url).host,
        'X-Forwarded-Host': new URL(url).host,
        'X-Forwarded-Proto': new URL(url).protocol.replace(':', ''),
      });
      expectRefused(response, 403, 'INVALID_SIGNATURE');
    }
    // The genuine signature does not hold for another path or query string either.
    expectRefused(
      await post(genuine.body, genuine.headers, `${CALLBACK_PATH}?replay=1`),
      403,
      'INVALID_SIGNATURE',
    );
    expect(await deliveryState()).toEqual(before);
  });

  it('changes nothing when a delivered callback is replayed, or a late one arrives', async () => {
    const sid = await sentMessage();
    const delivered = fake.prepareStatusCallback(sid, 'delivered');
    expect((await deliver(delivered)).status).toBe(204);
    const before = await deliveryState();

    for (let replay = 0; replay < 3; replay += 1) {
      expect((await deliver(delivered)).status).toBe(204);
    }
    const concurrent = await Promise.all(Array.from({ length: 10 }, () => deliver(delivered)));
    expect(concurrent.map((response) => response.status)).toEqual(Array(10).fill(204));
    // Late or contradicting callbacks, genuinely signed: a final status never regresses, and a
    // failure after delivery does not suppress the number.
    expect((await deliver(fake.prepareStatusCallback(sid, 'sent'))).status).toBe(204);
    const lateFailure = fake.prepareStatusCallback(sid, 'undelivered', { errorCode: 30003 });
    expect((await deliver(lateFailure)).status).toBe(204);
    // A status Twilio does not send, named like a property every object has, changes nothing.
    for (const status of ['constructor', 'to_string', 'value_of']) {
      const odd = await signedForm({ MessageSid: sid, MessageStatus: status });
      expect(odd.status).toBe(204);
    }

    expect(await deliveryState()).toEqual(before);
  });

  it('answers callbacks for messages it never sent with 204 and records nothing', async () => {
    const before = await deliveryState();
    const response = await signedForm({
      MessageSid: `SM${'0'.repeat(32)}`,
      MessageStatus: 'undelivered',
      ErrorCode: '30003',
      AccountSid: TEST_TWILIO.accountSid,
    });
    expect(response.status).toBe(204);
    expect(await deliveryState()).toEqual(before);
  });

  it(`answers callbacks over BODY_LIMIT_BYTES (${BODY_LIMIT_BYTES}) with a 413 envelope`, async () => {
    const sid = await sentMessage();
    const params = { ...fake.prepareStatusCallback(sid, 'delivered').params };
    params.Padding = 'x'.repeat(BODY_LIMIT_BYTES);
    const oversized = await signedForm(params);
    expectRefused(oversized, 413, 'PAYLOAD_TOO_LARGE');
    const json = await post(JSON.stringify(params), { 'Content-Type': 'application/json' });
    expectRefused(json, 413, 'PAYLOAD_TOO_LARGE');
  });

  it('refuses malformed callbacks with 400 or 403 in the error envelope', async () => {
    const sid = await sentMessage();
    const genuine = fake.prepareStatusCallback(sid, 'delivered');
    const before = await deliveryState();
    const withoutSid = Object.fromEntries(
      Object.entries(genuine.params).filter(([name]) => !['MessageSid', 'SmsSid'].includes(name)),
    );
    const json = { 'Content-Type': 'application/json' };

    // Signed, but not a status callback.
    expectRefused(await signedForm(withoutSid), 400, 'VALIDATION_FAILED');
    expectRefused(
      await signedForm({ ...genuine.params, MessageSid: 'SM-not-a-sid', SmsSid: 'x' }),
      400,
      'VALIDATION_FAILED',
    );
    expectRefused(
      await signedForm({ ...genuine.params, MessageStatus: 'DELIVERED!', SmsStatus: '' }),
      400,
      'VALIDATION_FAILED',
    );
    expectRefused(
      await signedForm({ ...genuine.params, ErrorCode: 'thirty' }),
      400,
      'VALIDATION_FAILED',
    );
    // Not Twilio's flat form of strings: never even checked for a signature.
    expectRefused(
      await signedForm({ ...genuine.params, MessageSid: [sid, `SM${'1'.repeat(32)}`] }),
      403,
      'INVALID_SIGNATURE',
    );
    // Not a form at all: refused for its media type before anything else looks at it.
    for (const body of [
      [genuine.params],
      { ...genuine.params, MessageSid: { $ne: null } },
      { ...genuine.params, MessageSid: 42 },
      { ...genuine.params, MessageSid: null },
    ]) {
      expectRefused(await post(JSON.stringify(body), json), 415, 'UNSUPPORTED_MEDIA_TYPE');
    }
    expectRefused(await post('"MessageSid"', json), 415, 'UNSUPPORTED_MEDIA_TYPE');
    expectRefused(await post('null', json), 403, 'INVALID_SIGNATURE');
    expectRefused(await post('', { 'Content-Type': FORM }), 403, 'INVALID_SIGNATURE');
    expectRefused(await post('{"MessageSid": ', json), 400, 'BAD_REQUEST');
    expect(await deliveryState()).toEqual(before);
  });

  it('leaves no number, code or secret in logs, database rows or Redis keys', async () => {
    ledger.harvest(fake);
    expect(await findLeaks(service, ledger)).toEqual([]);
  });
});
