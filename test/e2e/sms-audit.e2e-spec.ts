import { DataSource } from 'typeorm';
import { EventRecorder } from '../../src/analytics/events/event-recorder';
import { FakeTwilioServer, StatusCallbackRequest } from '../fakes/fake-twilio-server';
import { messagingEnv, startFakeTwilio } from '../support/fake-twilio-app';
import { AuthClient, TEST_JWT_SECRET } from '../support/auth-client';
import { TestApp, startTestApp } from '../support/test-app';
import { TEST_TWILIO } from '../support/twilio-test-credentials';

/**
 * What a live audit against the product's specification found in the send flows: a silent
 * verification that kept real codes from a new account, resends that still reached numbers whose
 * delivery had failed for good, and Twilio's own error codes lost on failed sends.
 */

const PASSWORD = 'lantern-mosaic-47';
const COOLDOWN_SECONDS = 1;

describe('Send flows the audit found wanting', () => {
  let fake: FakeTwilioServer;
  let service: TestApp;
  let client: AuthClient;
  let counter = 0;
  const nextPhone = () => `+2519180${String((counter += 1)).padStart(5, '0')}`;

  beforeAll(async () => {
    fake = await startFakeTwilio();
    service = await startTestApp({
      env: messagingEnv(fake, {
        TWILIO_MESSAGING_SERVICE_SID: TEST_TWILIO.messagingServiceSid,
        JWT_SECRET: TEST_JWT_SECRET,
        SMS_COUNTRY_LOCALES: 'ET:en',
        SMS_RESEND_COOLDOWNS: String(COOLDOWN_SECONDS),
        SMS_PUMPING_MODE: 'off',
      }),
    });
    client = new AuthClient(service, fake);
  });
  afterAll(async () => {
    await service?.close();
    await fake?.stop();
  });

  const afterCooldown = () =>
    new Promise((resolve) => setTimeout(resolve, COOLDOWN_SECONDS * 1000 + 100));

  it('gives a number its first real login code at once when it got an account after a silent one', async () => {
    const phoneNumber = nextPhone();
    // Asked for before the account existed: answered like any send, delivered nowhere.
    const silent = await client.sendCode(phoneNumber, 'login').expect(200);
    expect(client.messagesTo(phoneNumber)).toHaveLength(0);

    await client.register(phoneNumber, PASSWORD);
    await afterCooldown();
    const real = await client.sendCode(phoneNumber, 'login').expect(200);

    // Delivered now, in the verification answered before: a resend's answer, like any number's.
    expect(client.messagesTo(phoneNumber).filter((m) => /login/i.test(m.body))).toHaveLength(1);
    expect(real.body.sid).toBe(silent.body.sid);
    expect(Object.keys(real.body).sort()).toEqual(Object.keys(silent.body).sort());
    const code = /(\d{6})/.exec(client.messagesTo(phoneNumber).at(-1)!.body)![1];
    await client.post('/auth/login-sms', { phoneNumber, code }).expect(200);
  });

  it('answers a resend to a number that still has no account exactly like the first send', async () => {
    const phoneNumber = nextPhone();
    const first = await client.sendCode(phoneNumber, 'login').expect(200);
    await afterCooldown();
    const again = await client.sendCode(phoneNumber, 'login').expect(200);
    expect(again.body.sid).toBe(first.body.sid);
    expect(client.messagesTo(phoneNumber)).toHaveLength(0);
  });

  it('sends no resend to a number whose delivery failed for good', async () => {
    const phoneNumber = nextPhone();
    const first = await client.sendCode(phoneNumber, 'registration').expect(200);
    const message = fake.lastMessageTo(phoneNumber)!;
    const callback: StatusCallbackRequest = fake.prepareStatusCallback(message.sid, 'undelivered', {
      errorCode: 30005,
    });
    await service
      .http()
      .post('/webhooks/twilio/status')
      .set(callback.headers)
      .send(callback.body)
      .expect(204);

    await afterCooldown();
    const resend = await client.sendCode(phoneNumber, 'registration').expect(200);
    // Answered like any resend, and nothing more went out.
    expect(resend.body.sid).toBe(first.body.sid);
    expect(client.messagesTo(phoneNumber)).toHaveLength(1);
  });

  it('keeps Twilio’s own error code and message beside ours when a send fails', async () => {
    const phoneNumber = nextPhone();
    fake.failNext(1, {
      status: 400,
      code: 21211,
      message: `The 'To' number ${phoneNumber} is not a valid phone number.`,
    });
    const failed = await client.sendCode(phoneNumber, 'registration');
    expect(failed.status).toBe(400);

    await service.app.get(EventRecorder).flush();
    const rows: { error_code: string; error_message: string }[] = await service.app
      .get(DataSource)
      .query(
        `SELECT error_code, error_message FROM sms_events WHERE status = 'failed'
          ORDER BY occurred_at DESC LIMIT 1`,
      );
    expect(rows[0].error_code).toBe('21211');
    expect(rows[0].error_message).toMatch(/^SMS_INVALID_REQUEST: The 'To' number … is not/);
    expect(rows[0].error_message).not.toContain(phoneNumber.slice(1));
  });
});
