import { randomBytes } from 'node:crypto';
import { createServer, Server } from 'node:http';
import { AddressInfo } from 'node:net';
import twilio, { Twilio } from 'twilio';
import { createTwilioClient } from '../../src/sms/providers/twilio/twilio-client.factory';
import { toProductError } from '../../src/sms/providers/twilio/twilio-errors';
import { FakeTwilioServer } from './fake-twilio-server';

const ACCOUNT_SID = `AC${randomBytes(16).toString('hex')}`;
const AUTH_TOKEN = randomBytes(16).toString('hex');
const SERVICE_SID = `VA${randomBytes(16).toString('hex')}`;
const MESSAGING_SERVICE_SID = `MG${randomBytes(16).toString('hex')}`;
const TIMEOUT_MS = 300;
const PHONE = '+251911234567';
const OTHER_PHONE = '+33612345678';

/** Rejections from the SDK, for asserting on what it threw. */
async function failure(promise: Promise<unknown>): Promise<Error & Record<string, unknown>> {
  try {
    await promise;
  } catch (error) {
    return error as Error & Record<string, unknown>;
  }
  throw new Error('Expected the call to fail');
}

describe('FakeTwilioServer through the real twilio SDK', () => {
  let fake: FakeTwilioServer;
  let client: Twilio;
  let nowMs: number;

  const verify = () => client.verify.v2.services(SERVICE_SID);

  beforeAll(async () => {
    fake = await FakeTwilioServer.start({
      accountSid: ACCOUNT_SID,
      authToken: AUTH_TOKEN,
      now: () => nowMs,
    });
    client = createTwilioClient({
      accountSid: ACCOUNT_SID,
      authToken: AUTH_TOKEN,
      apiBaseUrl: fake.url,
      timeoutMs: TIMEOUT_MS,
    });
  });
  afterAll(() => fake.stop());
  beforeEach(() => {
    nowMs = Date.parse('2026-03-01T12:00:00Z');
    fake.reset();
  });

  describe('Verify v2', () => {
    it('starts a verification and sends a six-digit code', async () => {
      const verification = await verify().verifications.create({
        to: PHONE,
        channel: 'sms',
        locale: 'fr',
      });

      expect(verification).toMatchObject({
        sid: expect.stringMatching(/^VE[0-9a-f]{32}$/),
        serviceSid: SERVICE_SID,
        accountSid: ACCOUNT_SID,
        to: PHONE,
        channel: 'sms',
        status: 'pending',
        valid: false,
        dateCreated: new Date(nowMs),
        url: `https://verify.twilio.com/v2/Services/${SERVICE_SID}/Verifications/${verification.sid}`,
      });
      expect(verification.sendCodeAttempts).toHaveLength(1);
      expect(fake.codeFor(PHONE)).toMatch(/^\d{6}$/);
      expect(fake.verifications).toEqual([
        expect.objectContaining({ to: PHONE, locale: 'fr', channel: 'sms', sends: 1, checks: 0 }),
      ]);
      expect(fake.requests.at(-1)).toMatchObject({
        method: 'POST',
        path: `/v2/Services/${SERVICE_SID}/Verifications`,
        form: { To: PHONE, Channel: 'sms', Locale: 'fr' },
      });
    });

    it('resends the same code on the same verification within its lifetime', async () => {
      const first = await verify().verifications.create({ to: PHONE, channel: 'sms' });
      const code = fake.codeFor(PHONE);
      nowMs += 60_000;

      const second = await verify().verifications.create({ to: PHONE, channel: 'sms' });

      expect(second.sid).toBe(first.sid);
      expect(second.sendCodeAttempts).toHaveLength(2);
      expect(fake.codeFor(PHONE)).toBe(code);
      expect(fake.verifications).toHaveLength(1);
      expect(fake.verifications[0].sends).toBe(2);
    });

    it('refuses a sixth send with 60203', async () => {
      for (let send = 0; send < 5; send += 1) {
        await verify().verifications.create({ to: PHONE, channel: 'sms' });
      }

      const error = await failure(verify().verifications.create({ to: PHONE, channel: 'sms' }));

      expect(error).toMatchObject({ status: 429, code: 60203 });
      expect(toProductError(error)).toMatchObject({
        code: 'SMS_PROVIDER_RATE_LIMITED',
        kind: 'rate_limited',
        retryAfterSeconds: 600,
      });
    });

    it('approves the right code once, then knows no pending verification', async () => {
      await verify().verifications.create({ to: PHONE, channel: 'sms' });
      const code = fake.codeFor(PHONE)!;

      const check = await verify().verificationChecks.create({ to: PHONE, code });

      expect(check).toMatchObject({ status: 'approved', valid: true, to: PHONE });
      expect(fake.codeFor(PHONE)).toBeUndefined();
      const again = await failure(verify().verificationChecks.create({ to: PHONE, code }));
      expect(again).toMatchObject({ status: 404, code: 20404 });
    });

    it('checks by verification sid as well as by number', async () => {
      const verification = await verify().verifications.create({ to: PHONE, channel: 'sms' });

      const check = await verify().verificationChecks.create({
        verificationSid: verification.sid,
        code: fake.codeFor(PHONE)!,
      });

      expect(check).toMatchObject({ sid: verification.sid, status: 'approved' });
    });

    it('leaves a wrong code pending', async () => {
      await verify().verifications.create({ to: PHONE, channel: 'sms' });
      const wrong = fake.codeFor(PHONE) === '000000' ? '111111' : '000000';

      const check = await verify().verificationChecks.create({ to: PHONE, code: wrong });

      expect(check).toMatchObject({ status: 'pending', valid: false });
      expect(fake.verifications[0]).toMatchObject({ checks: 1, status: 'pending' });
    });

    it('refuses a sixth check with 60202, even with the right code', async () => {
      await verify().verifications.create({ to: PHONE, channel: 'sms' });
      const code = fake.codeFor(PHONE)!;
      const wrong = code === '000000' ? '111111' : '000000';
      for (let check = 0; check < 5; check += 1) {
        await verify().verificationChecks.create({ to: PHONE, code: wrong });
      }

      const error = await failure(verify().verificationChecks.create({ to: PHONE, code }));

      expect(error).toMatchObject({ status: 429, code: 60202 });
      expect(toProductError(error)).toMatchObject({
        code: 'VERIFICATION_ATTEMPTS_EXCEEDED',
        kind: 'rate_limited',
        retryAfterSeconds: 600,
      });
      expect(fake.verifications[0].status).toBe('max_attempts_reached');
    });

    it('answers 404 (20404) for a number never sent a code', async () => {
      const error = await failure(
        verify().verificationChecks.create({ to: OTHER_PHONE, code: '123456' }),
      );

      expect(error).toMatchObject({ status: 404, code: 20404 });
      expect(error.moreInfo).toBe('https://www.twilio.com/docs/errors/20404');
      expect(toProductError(error)).toMatchObject({
        code: 'VERIFICATION_NOT_FOUND',
        kind: 'not_found',
      });
    });

    it('expires a verification after ten minutes on its own clock', async () => {
      const first = await verify().verifications.create({ to: PHONE, channel: 'sms' });
      const code = fake.codeFor(PHONE)!;
      nowMs += 10 * 60_000;

      const error = await failure(verify().verificationChecks.create({ to: PHONE, code }));
      const second = await verify().verifications.create({ to: PHONE, channel: 'sms' });

      expect(error).toMatchObject({ status: 404, code: 20404 });
      expect(second.sid).not.toBe(first.sid);
      expect(fake.verifications.map((v) => v.status)).toEqual(['expired', 'pending']);
    });

    it('refuses a locale Verify does not speak (Amharic) with 60200', async () => {
      const error = await failure(
        verify().verifications.create({ to: PHONE, channel: 'sms', locale: 'am' }),
      );

      expect(error).toMatchObject({ status: 400, code: 60200 });
      expect(toProductError(error)).toMatchObject({
        code: 'SMS_INVALID_REQUEST',
        kind: 'invalid_input',
      });
      expect(fake.verifications).toHaveLength(0);
    });

    it('refuses a number that is not E.164 with 60200, without echoing it to clients', async () => {
      const error = await failure(
        verify().verifications.create({ to: '0911234567', channel: 'sms' }),
      );

      expect(error).toMatchObject({ status: 400, code: 60200 });
      expect(toProductError(error).message).not.toContain('0911234567');
    });
  });

  describe('Programmable Messaging', () => {
    const from = '+15017122661';

    it('creates a queued message and fetches it', async () => {
      const created = await client.messages.create({
        to: PHONE,
        from,
        body: 'Your code is 123456',
        statusCallback: 'https://sms.example.com/webhooks/twilio/status',
        validityPeriod: 600,
      });

      expect(created).toMatchObject({
        sid: expect.stringMatching(/^SM[0-9a-f]{32}$/),
        accountSid: ACCOUNT_SID,
        to: PHONE,
        from,
        status: 'queued',
        numSegments: '1',
        price: null,
        priceUnit: 'USD',
        errorCode: null,
        dateCreated: new Date(nowMs),
      });
      expect(fake.lastMessageTo(PHONE)).toMatchObject({
        sid: created.sid,
        from,
        messagingServiceSid: null,
        body: 'Your code is 123456',
        statusCallback: 'https://sms.example.com/webhooks/twilio/status',
        validityPeriod: 600,
      });
      const fetched = await client.messages(created.sid).fetch();
      expect(fetched).toMatchObject({ sid: created.sid, status: 'queued', body: created.body });
    });

    it('accepts through a Messaging Service and counts UCS-2 segments (Amharic)', async () => {
      const body =
        'የማረጋገጫ ኮድዎ 123456 ነው። ለማንም አያጋሩት። ይህ ኮድ በ10 ደቂቃ ውስጥ ያበቃል። እባክዎ አሁን በመተግበሪያው ውስጥ ያስገቡት።';

      const created = await client.messages.create({
        to: PHONE,
        messagingServiceSid: MESSAGING_SERVICE_SID,
        body,
      });

      expect(body.length).toBeGreaterThan(70);
      expect(created).toMatchObject({
        status: 'accepted',
        from: null,
        messagingServiceSid: MESSAGING_SERVICE_SID,
        numSegments: '2',
      });
    });

    it('counts GSM-7 segments at 160, then 153 per part', async () => {
      const single = await client.messages.create({ to: PHONE, from, body: 'a'.repeat(160) });
      const double = await client.messages.create({ to: PHONE, from, body: 'a'.repeat(161) });

      expect([single.numSegments, double.numSegments]).toEqual(['1', '2']);
    });

    it('refuses a message without a body (21602)', async () => {
      const error = await failure(client.messages.create({ to: PHONE, from, body: '' }));

      expect(error).toMatchObject({ status: 400, code: 21602 });
    });

    it('shows the price once the message is delivered', async () => {
      const receiver = await startReceiver();
      try {
        const created = await client.messages.create({
          to: PHONE,
          from,
          body: 'Your code is 123456',
          statusCallback: receiver.url,
        });

        await fake.sendStatusCallback(created.sid, 'delivered');
        const fetched = await client.messages(created.sid).fetch();

        expect(fetched).toMatchObject({ status: 'delivered', price: '-0.05000', priceUnit: 'USD' });
      } finally {
        await receiver.close();
      }
    });
  });

  describe('Lookup v2', () => {
    it('answers line type intelligence, mobile by default', async () => {
      const lookup = await client.lookups.v2
        .phoneNumbers(PHONE)
        .fetch({ fields: 'line_type_intelligence' });

      expect(lookup).toMatchObject({
        phoneNumber: PHONE,
        countryCode: 'ET',
        valid: true,
        lineTypeIntelligence: expect.objectContaining({ type: 'mobile', errorCode: null }),
      });
      expect(fake.requests.at(-1)).toMatchObject({
        method: 'GET',
        path: `/v2/PhoneNumbers/${PHONE}`,
        query: { Fields: 'line_type_intelligence' },
      });
    });

    it('answers the line type configured for a number', async () => {
      fake.setLineType(OTHER_PHONE, { type: 'landline', carrier_name: 'Orange' });

      const lookup = await client.lookups.v2
        .phoneNumbers(OTHER_PHONE)
        .fetch({ fields: 'line_type_intelligence' });

      expect(lookup.lineTypeIntelligence).toMatchObject({
        carrierName: 'Orange',
        type: 'landline',
        mobileCountryCode: null,
        mobileNetworkCode: null,
        errorCode: null,
      });
      expect(fake.requests.at(-1)?.path).toBe(`/v2/PhoneNumbers/${OTHER_PHONE}`);
    });
  });

  describe('credentials and wiring', () => {
    it('answers wrong credentials with 401 (20003), which the product treats as an outage', async () => {
      const misconfigured = createTwilioClient({
        accountSid: ACCOUNT_SID,
        authToken: 'not-the-token',
        apiBaseUrl: fake.url,
        timeoutMs: TIMEOUT_MS,
      });

      const error = await failure(
        misconfigured.verify.v2.services(SERVICE_SID).verifications.create({
          to: PHONE,
          channel: 'sms',
        }),
      );

      expect(error).toBeInstanceOf(twilio.RestException);
      expect(error).toMatchObject({ status: 401, code: 20003 });
      expect(toProductError(error)).toMatchObject({
        code: 'SMS_PROVIDER_UNAVAILABLE',
        kind: 'unavailable',
      });
      expect(fake.verifications).toHaveLength(0);
    });

    it('refuses a base URL that is not a bare origin', () => {
      expect(() =>
        createTwilioClient({
          accountSid: ACCOUNT_SID,
          authToken: AUTH_TOKEN,
          apiBaseUrl: `${fake.url}/twilio`,
          timeoutMs: TIMEOUT_MS,
        }),
      ).toThrow(/TWILIO_API_BASE_URL must be an http\(s\) origin/);
    });

    it('refuses to build a client without credentials', () => {
      expect(() => createTwilioClient({ timeoutMs: TIMEOUT_MS, apiBaseUrl: fake.url })).toThrow(
        /TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN/,
      );
    });
  });

  describe('injected faults', () => {
    const send = () => verify().verifications.create({ to: PHONE, channel: 'sms' });

    it('turns a 503 into SMS_PROVIDER_UNAVAILABLE, for the injected count only', async () => {
      fake.failNext(1, { status: 503 });

      const error = await failure(send());

      expect(error).toMatchObject({ status: 503 });
      expect(toProductError(error)).toMatchObject({
        code: 'SMS_PROVIDER_UNAVAILABLE',
        kind: 'unavailable',
        retryAfterSeconds: 30,
      });
      await expect(send()).resolves.toMatchObject({ status: 'pending' });
    });

    it('times out after the configured timeout, though Twilio still sends the code', async () => {
      fake.failNext(1, { delayMs: TIMEOUT_MS * 3 });
      const started = Date.now();

      const error = await failure(send());

      expect(Date.now() - started).toBeLessThan(TIMEOUT_MS * 2);
      expect(error.code).toMatch(/ECONNABORTED|ETIMEDOUT/);
      expect(toProductError(error)).toMatchObject({
        code: 'SMS_PROVIDER_UNAVAILABLE',
        kind: 'unavailable',
      });
      expect(fake.verifications).toHaveLength(0);
      await new Promise((resolve) => setTimeout(resolve, TIMEOUT_MS * 3));
      expect(fake.verifications).toEqual([expect.objectContaining({ to: PHONE, sends: 1 })]);
    });

    it('times out when latency set at runtime exceeds the timeout', async () => {
      fake.latencyMs = TIMEOUT_MS * 3;

      const error = await failure(send());

      expect(toProductError(error).code).toBe('SMS_PROVIDER_UNAVAILABLE');
    });

    it('holds responses until released, recording the requests as they arrive', async () => {
      const patientClient = createTwilioClient({
        accountSid: ACCOUNT_SID,
        authToken: AUTH_TOKEN,
        apiBaseUrl: fake.url,
        timeoutMs: 30_000,
      });
      const release = fake.holdResponses();
      const sending = patientClient.verify.v2
        .services(SERVICE_SID)
        .verifications.create({ to: PHONE, channel: 'sms' });
      while (fake.requests.length === 0) await new Promise((resolve) => setTimeout(resolve, 10));

      // Received, not yet carried out: the request is in flight until the test lets it go.
      expect(fake.verifications).toHaveLength(0);
      release();

      await expect(sending).resolves.toMatchObject({ status: 'pending' });
      expect(fake.verifications).toHaveLength(1);
      await expect(send()).resolves.toMatchObject({ status: 'pending' });
    });

    it('turns 429 (20429) into SMS_PROVIDER_RATE_LIMITED with a retry delay', async () => {
      fake.failNext(1, { status: 429, code: 20429 });

      const error = await failure(send());

      expect(toProductError(error)).toMatchObject({
        code: 'SMS_PROVIDER_RATE_LIMITED',
        kind: 'rate_limited',
        retryAfterSeconds: 60,
      });
    });

    it('turns Fraud Guard (60410) into SMS_DESTINATION_REFUSED without the reason', async () => {
      fake.failNext(1, { status: 403, code: 60410, message: 'Fraud Guard blocked the prefix' });

      const error = await failure(send());

      expect(toProductError(error)).toMatchObject({
        code: 'SMS_DESTINATION_REFUSED',
        kind: 'invalid_input',
        message: 'This number cannot receive verification codes.',
      });
    });

    it('turns a dropped connection into SMS_PROVIDER_UNAVAILABLE', async () => {
      fake.failNext(1, { destroySocket: true });

      const error = await failure(send());

      expect(error.code).toBe('ECONNRESET');
      expect(toProductError(error).code).toBe('SMS_PROVIDER_UNAVAILABLE');
    });

    it('limits a fault to the path it names', async () => {
      await send();
      fake.failNext(1, { status: 503, path: '/VerificationCheck' });

      await expect(send()).resolves.toMatchObject({ status: 'pending' });
      const error = await failure(
        verify().verificationChecks.create({ to: PHONE, code: fake.codeFor(PHONE)! }),
      );
      expect(error).toMatchObject({ status: 503 });
    });

    it('refuses connections while closed and serves again when reopened', async () => {
      await fake.refuseConnections();
      try {
        const error = await failure(send());

        expect(error.code).toBe('ECONNREFUSED');
        expect(toProductError(error).code).toBe('SMS_PROVIDER_UNAVAILABLE');
      } finally {
        await fake.acceptConnections();
      }
      await expect(send()).resolves.toMatchObject({ status: 'pending' });
    });
  });

  describe('status callbacks', () => {
    it('posts a callback signed like Twilio, which the SDK validates', async () => {
      const receiver = await startReceiver();
      try {
        const callbackUrl = `${receiver.url}/webhooks/twilio/status?attempt=1`;
        const message = await client.messages.create({
          to: PHONE,
          from: '+15017122661',
          body: 'Your code is 123456',
          statusCallback: callbackUrl,
        });

        const status = await fake.sendStatusCallback(message.sid, 'undelivered', {
          errorCode: 30003,
        });

        expect(status).toBe(204);
        const received = receiver.received[0];
        expect(received.params).toEqual({
          AccountSid: ACCOUNT_SID,
          ApiVersion: '2010-04-01',
          ErrorCode: '30003',
          From: '+15017122661',
          MessageSid: message.sid,
          MessageStatus: 'undelivered',
          SmsSid: message.sid,
          SmsStatus: 'undelivered',
          To: PHONE,
        });
        expect(
          twilio.validateRequest(AUTH_TOKEN, received.signature, callbackUrl, received.params),
        ).toBe(true);
        expect(
          twilio.validateRequest(AUTH_TOKEN, received.signature, callbackUrl, {
            ...received.params,
            MessageStatus: 'delivered',
          }),
        ).toBe(false);
        expect(fake.messages[0]).toMatchObject({ status: 'undelivered', errorCode: 30003 });
      } finally {
        await receiver.close();
      }
    });

    it('keeps a final status when a late callback arrives', async () => {
      const message = await client.messages.create({
        to: PHONE,
        from: '+15017122661',
        body: 'Your code is 123456',
        statusCallback: 'https://sms.example.com/webhooks/twilio/status',
      });
      fake.prepareStatusCallback(message.sid, 'delivered');

      const late = fake.prepareStatusCallback(message.sid, 'sent');

      expect(late.params.MessageStatus).toBe('sent');
      expect(fake.messages[0].status).toBe('delivered');
    });
  });
});

interface ReceivedCallback {
  url: string;
  signature: string;
  params: Record<string, string>;
}

/** A stand-in for the service's webhook endpoint: records what Twilio posted, answers 204. */
async function startReceiver(): Promise<{
  url: string;
  received: ReceivedCallback[];
  close(): Promise<void>;
}> {
  const received: ReceivedCallback[] = [];
  const server: Server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      received.push({
        url: request.url ?? '',
        signature: String(request.headers['x-twilio-signature']),
        params: Object.fromEntries(new URLSearchParams(Buffer.concat(chunks).toString('utf8'))),
      });
      response.writeHead(204).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    received,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
