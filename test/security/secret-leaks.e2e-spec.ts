import Redis from 'ioredis';
import supertest from 'supertest';
import { DataSource } from 'typeorm';
import { FakeTwilioServer } from '../fakes/fake-twilio-server';
import { AuthClient, Session, authTestEnvironment } from '../support/auth-client';
import { startFakeTwilio } from '../support/fake-twilio-app';
import { RELAXED_LIMITS } from '../support/relaxed-limits';
import { TestApp, startTestApp } from '../support/test-app';
import { REQUEST_TIMEOUT_MS } from './support/http';
import { SecretLedger, findLeaks } from './support/leak-scan';

const ADMIN_API_KEY = 'leaks-operator-key-0123456789abcdef012345';
const TWILIO_TIMEOUT_MS = 500;

/**
 * Every flow of the service, its failures included, logged at the most verbose level; then not one
 * phone number, code, token, password or credential may be found in a log line, a database row or a
 * Redis key (README "Running in production": logs redact them; docs/SECURITY.md rule 2). Numbers
 * are allowed in users.phone_number only, as E.164, which login by SMS needs.
 */
describe('Secrets never reach logs, database rows or Redis keys', () => {
  let fake: FakeTwilioServer;
  let service: TestApp;
  let client: AuthClient;
  const ledger = new SecretLedger();
  let counter = 0;
  const nextPhone = () => ledger.phone(`+2519180${String((counter += 1)).padStart(5, '0')}`);

  beforeAll(async () => {
    fake = await startFakeTwilio();
    service = await startTestApp({
      env: {
        ...RELAXED_LIMITS,
        ...authTestEnvironment(fake),
        LOG_LEVEL: 'trace',
        PUBLIC_BASE_URL: 'https://sms.example.com',
        ADMIN_API_KEY,
        TWILIO_TIMEOUT_MS: String(TWILIO_TIMEOUT_MS),
        AUTH_PASSWORD_ATTEMPTS_LIMIT: '3',
      },
    });
    client = new AuthClient(service, fake);
  });
  afterAll(async () => {
    await service?.close();
    await fake?.stop();
  });

  function post(path: string, body: object, accessToken?: string): supertest.Test {
    return client.post(path, body, accessToken).timeout(REQUEST_TIMEOUT_MS);
  }

  async function session(request: supertest.Test): Promise<Session> {
    const response = await request.expect(200);
    ledger.absorb(response.body);
    return response.body as Session;
  }

  it('runs the account flows: register, log in three ways, refresh, 2FA, reset, change phone', async () => {
    const phoneNumber = nextPhone();
    const password = ledger.password('leak-canary-Password-1');
    const newPassword = ledger.password('leak-canary-Password-2');

    const registered = await client.register(phoneNumber, password);
    ledger.absorb(registered);
    await client.get('/auth/me', registered.accessToken).expect(200);
    const refreshed = await session(
      post('/auth/refresh', { refreshToken: registered.refreshToken }),
    );
    // Reuse of a rotated refresh token: the service logs the theft signal.
    await post('/auth/refresh', { refreshToken: registered.refreshToken }).expect(401);
    await post('/auth/logout', { refreshToken: refreshed.refreshToken }).expect(204);

    await post('/auth/login', { phoneNumber, password: 'leak-canary-Wrong-0' }).expect(401);
    const byPassword = await session(post('/auth/login', { phoneNumber, password }));
    const bySms = await client.loginWithSms(phoneNumber);
    ledger.absorb(bySms);

    await client.enableTwoFactor(bySms);
    const challenge = await post('/auth/login', { phoneNumber, password }).expect(200);
    ledger.absorb(challenge.body);
    const twoFactorCode = await client.code(phoneNumber, 'two_factor');
    const byTwoFactor = await session(
      post('/auth/login/2fa', {
        twoFactorToken: challenge.body.twoFactorToken,
        code: twoFactorCode,
      }),
    );
    const disableCode = await client.code(phoneNumber, 'two_factor');
    await post('/auth/2fa/disable', { code: disableCode }, byTwoFactor.accessToken).expect(200);

    const resetToken = await client.verificationToken(phoneNumber, 'password_reset');
    ledger.tokens.add(resetToken);
    await post('/auth/reset-password-sms', {
      phoneNumber,
      verificationToken: resetToken,
      newPassword,
    }).expect(204);
    await client.get('/auth/me', byPassword.accessToken).expect(401);

    const current = await session(post('/auth/login', { phoneNumber, password: newPassword }));
    const newPhoneNumber = nextPhone();
    const newNumberCode = await client.code(newPhoneNumber, 'registration');
    const moved = await session(
      post(
        '/auth/change-phone',
        { newPhoneNumber, code: newNumberCode, currentPassword: newPassword },
        current.accessToken,
      ),
    );
    expect(moved.user.phoneNumber).toBe(newPhoneNumber);
    const again = await client.loginWithSms(newPhoneNumber);
    ledger.absorb(again);
  });

  it('runs the failures: wrong codes, lockouts, bad input, and a Twilio that fails every way', async () => {
    const phoneNumber = nextPhone();
    const code = await client.code(phoneNumber, 'registration');
    for (let guess = 0; guess < 4; guess += 1) {
      await post('/sms/verify-code', {
        phoneNumber,
        code: code === '000000' ? '111111' : '000000',
        purpose: 'registration',
      });
    }
    for (let attempt = 0; attempt < 4; attempt += 1) {
      await post('/auth/login', { phoneNumber, password: 'leak-canary-Wrong-1' });
    }
    await post('/auth/register', {
      phoneNumber,
      code,
      password: ledger.password(`${phoneNumber}-leak-canary`),
    }).expect(400);
    await post('/sms/send-verification', {
      phoneNumber: `${phoneNumber}${phoneNumber}${phoneNumber}`,
      purpose: 'login',
    }).expect(400);
    await post('/phone/validate', { phoneNumber: ledger.phone(phoneNumber.slice(0, -1)) });
    await post('/sms/send-verification', { phoneNumber, purpose: 'login', locale: phoneNumber });

    const failures = [
      { status: 500 },
      { status: 503 },
      { status: 400, code: 21211, message: `Invalid 'To' Phone Number: ${phoneNumber}` },
      { status: 400, code: 60410, message: `Fraud Guard blocked ${phoneNumber}` },
      { status: 429, code: 20429 },
      { destroySocket: true },
      { delayMs: TWILIO_TIMEOUT_MS * 3 },
    ];
    for (const failure of failures) {
      fake.failNext(1, failure);
      const response = await post('/sms/send-verification', {
        phoneNumber: nextPhone(),
        purpose: 'registration',
      });
      expect([400, 429, 503]).toContain(response.status);
    }
  });

  it('runs delivery tracking and the operator reports', async () => {
    const delivered = nextPhone();
    const bounced = nextPhone();
    await client.code(delivered, 'registration');
    await client.code(bounced, 'registration');
    const callbacks = [
      fake.prepareStatusCallback(fake.lastMessageTo(delivered)!.sid, 'delivered'),
      fake.prepareStatusCallback(fake.lastMessageTo(bounced)!.sid, 'undelivered', {
        errorCode: 30003,
      }),
    ];
    for (const callback of callbacks) {
      await service
        .http()
        .post('/webhooks/twilio/status')
        .set(callback.headers)
        .send(callback.body)
        .expect(204);
    }
    await service
      .http()
      .post('/webhooks/twilio/status')
      .set('Content-Type', 'application/x-www-form-urlencoded')
      .send(callbacks[1].body)
      .expect(403);
    // The bounced number is now suppressed: sends to it are answered but not delivered.
    await client.sendCode(bounced, 'login').expect(200);

    const operator = { Authorization: `Bearer ${ADMIN_API_KEY}` };
    for (const report of ['summary', 'success-rates', 'costs', 'countries', 'failures', 'alerts']) {
      await service.http().get(`/analytics/sms/${report}`).set(operator).expect(200);
    }
    await service.http().get('/admin/sms/holds').set(operator).expect(200);
    const metrics = await service.http().get('/metrics').set(operator).expect(200);
    const exposed = [...ledger.phoneNumbers].filter((phone) =>
      metrics.text.includes(phone.slice(1)),
    );
    expect(exposed).toEqual([]);
  });

  it('leaves none of them in a log line, a database row or a Redis key', async () => {
    ledger.harvest(fake);
    expect(ledger.codes.size).toBeGreaterThanOrEqual(10);
    expect(service.logs.length).toBeGreaterThan(100);
    expect(await findLeaks(service, ledger)).toEqual([]);
  }, 30_000);

  // The scan above proves something only if it would have found a leak: plant one of each.
  it('would have found a number, a code, a token and a password wherever they were planted', async () => {
    const planted = new SecretLedger();
    planted.phone('+251918099999');
    planted.codes.add('482913');
    planted.tokens.add('vt_planted-token-0123456789abcdefghij');
    planted.password('planted-canary-Password-9');
    const dataSource = service.app.get(DataSource);
    const redis = new Redis(service.configuration.redis.url!);
    const logLine = { msg: 'sent 482913 to +251 91 809 9999', token: [...planted.tokens][0] };
    service.logs.push(logLine);
    await dataSource.query(`CREATE TABLE planted_leak (note text)`);
    await dataSource.query(`INSERT INTO planted_leak VALUES ('0918099999'), ($1)`, [
      'planted-canary-Password-9',
    ]);
    await redis.set(`${service.redisKeyPrefix}planted:251918099999`, '1');
    try {
      const leaks = await findLeaks(service, planted);
      expect(leaks).toEqual(
        expect.arrayContaining([
          expect.stringMatching(/^phone number \+251918099999 in log line/),
          expect.stringMatching(/^code 482913 in log line/),
          expect.stringMatching(/^token vt_planted-t… in log line/),
          'phone number +251918099999 in planted_leak.note',
          'password planted-canary-Password-9 in planted_leak.note',
          `phone number +251918099999 in Redis key ${service.redisKeyPrefix}planted:251918099999`,
        ]),
      );
    } finally {
      service.logs.splice(service.logs.indexOf(logLine), 1);
      await dataSource.query(`DROP TABLE planted_leak`);
      await redis.del(`${service.redisKeyPrefix}planted:251918099999`);
      redis.disconnect();
    }
  });
});
