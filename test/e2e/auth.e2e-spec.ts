import { DataSource } from 'typeorm';
import { Clock } from '../../src/common/clock';
import { FakeTwilioServer } from '../fakes/fake-twilio-server';
import { AuthClient, Session, authTestEnvironment } from '../support/auth-client';
import { FakeClock } from '../support/fake-clock';
import { RELAXED_LIMITS } from '../support/relaxed-limits';
import { TestApp, startTestApp } from '../support/test-app';
import { TEST_TWILIO } from '../support/twilio-test-credentials';

let phoneCounter = 0;
/** A fresh Ethiopian mobile number per use, so tests never share an account or a code. */
function nextPhone(): string {
  phoneCounter += 1;
  return `+2519130${String(phoneCounter).padStart(5, '0')}`;
}

const PASSWORD = 'lantern-mosaic-47';
const NEW_PASSWORD = 'quiet-harbor-lamp-19';

describe('Auth flows over HTTP (PostgreSQL, Redis, fake Twilio Messaging)', () => {
  let fake: FakeTwilioServer;
  let service: TestApp;
  let clock: FakeClock;
  let client: AuthClient;

  beforeAll(async () => {
    clock = new FakeClock();
    fake = await FakeTwilioServer.start({
      accountSid: TEST_TWILIO.accountSid,
      authToken: TEST_TWILIO.authToken,
    });
    service = await startTestApp({
      env: {
        ...RELAXED_LIMITS,
        ...authTestEnvironment(fake),
        AUTH_PASSWORD_ATTEMPTS_LIMIT: '100000',
        // Notices go out in the country's language; English keeps the assertions readable.
        SMS_COUNTRY_LOCALES: 'ET:en',
      },
      override: (builder) => builder.overrideProvider(Clock).useValue(clock),
    });
    client = new AuthClient(service, fake);
  });
  afterAll(async () => {
    await service.close();
    await fake.stop();
  });

  function expectSession(body: Session, phoneNumber: string): void {
    expect(body).toEqual({
      accessToken: expect.stringMatching(/^[\w-]+\.[\w-]+\.[\w-]+$/),
      refreshToken: expect.stringMatching(/^rt_[\w-]{40,}$/),
      tokenType: 'Bearer',
      expiresIn: 900,
      user: {
        id: expect.stringMatching(/^[0-9a-f-]{36}$/),
        phoneNumber,
        phoneVerifiedAt: expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
        twoFactorEnabled: expect.any(Boolean),
      },
    });
  }

  async function me(
    accessToken: string,
  ): Promise<{ status: number; body: Record<string, unknown> }> {
    const response = await client.get('/auth/me', accessToken);
    return { status: response.status, body: response.body };
  }

  describe('register', () => {
    it('creates an account from send-verification to tokens with the SMS code', async () => {
      const phoneNumber = nextPhone();
      await client.sendCode(phoneNumber, 'registration').expect(200);
      const code = /(\d{6})/.exec(client.messagesTo(phoneNumber).at(-1)!.body)![1];
      const response = await client
        .post('/auth/register', { phoneNumber, password: PASSWORD, code })
        .expect(200);
      expectSession(response.body, phoneNumber);
      expect(response.body.user.twoFactorEnabled).toBe(false);
      const profile = await me(response.body.accessToken);
      expect(profile).toEqual({ status: 200, body: response.body.user });
    });

    it('creates an account with the verification_token of verify-code', async () => {
      const phoneNumber = nextPhone();
      const verificationToken = await client.verificationToken(phoneNumber, 'registration');
      const response = await client
        .post('/auth/register', { phoneNumber, password: PASSWORD, verificationToken })
        .expect(200);
      expectSession(response.body, phoneNumber);
    });

    it('accepts national digits with a country and stores E.164', async () => {
      const phoneNumber = nextPhone();
      const code = await client.code(phoneNumber, 'registration');
      const national = `0${phoneNumber.slice(4)}`;
      const response = await client
        .post('/auth/register', {
          phoneNumber: national,
          countryCode: 'ET',
          password: PASSWORD,
          code,
        })
        .expect(200);
      expect(response.body.user.phoneNumber).toBe(phoneNumber);
    });

    it('refuses a weak password naming the rule, without spending the proof', async () => {
      const phoneNumber = nextPhone();
      const verificationToken = await client.verificationToken(phoneNumber, 'registration');
      for (const [password, rule] of [
        ['short1!', 'too_short'],
        ['Password123', 'common'],
        ['qwertyuiop', 'common'],
        ['x'.repeat(129), 'too_long'],
        [`me${phoneNumber.slice(4)}`, 'contains_phone_number'],
      ]) {
        const refused = await client
          .post('/auth/register', { phoneNumber, password, verificationToken })
          .expect(400);
        expect(refused.body).toEqual({
          success: false,
          error: 'PASSWORD_TOO_WEAK',
          message: expect.any(String),
          details: [rule],
        });
      }
      await client
        .post('/auth/register', {
          phoneNumber,
          password: 'a long passphrase 🐢 works',
          verificationToken,
        })
        .expect(200);
    });

    it('does not deliver registration codes to a number that has an account', async () => {
      const phoneNumber = nextPhone();
      await client.register(phoneNumber, PASSWORD);
      const before = client.messagesTo(phoneNumber).length;
      const sent = await client.sendCode(phoneNumber, 'registration').expect(200);
      expect(sent.body).toMatchObject({ status: 'pending', to: phoneNumber });
      expect(client.messagesTo(phoneNumber)).toHaveLength(before);
      const refused = await client
        .post('/auth/register', { phoneNumber, password: NEW_PASSWORD, code: '123456' })
        .expect(401);
      expect(refused.body).toEqual({
        success: false,
        message: 'Invalid or expired code.',
        error: 'INVALID_CODE',
      });
    });

    it('asks for exactly one of code and verificationToken', async () => {
      const phoneNumber = nextPhone();
      const neither = await client
        .post('/auth/register', { phoneNumber, password: PASSWORD })
        .expect(400);
      expect(neither.body.message).toContain('code');
      const both = await client
        .post('/auth/register', {
          phoneNumber,
          password: PASSWORD,
          code: '123456',
          verificationToken: 'vt_aaaaaaaaaaaaaaaaaaaaaaaa',
        })
        .expect(400);
      expect(both.body.message).toContain('not both');
      const unknownField = await client
        .post('/auth/register', { phoneNumber, password: PASSWORD, code: '123456', admin: true })
        .expect(400);
      expect(unknownField.body.error).toBe('VALIDATION_FAILED');
    });
  });

  describe('password login', () => {
    it('answers tokens for the right password', async () => {
      const phoneNumber = nextPhone();
      await client.register(phoneNumber, PASSWORD);
      const response = await client
        .post('/auth/login', { phoneNumber, password: PASSWORD })
        .expect(200);
      expectSession(response.body, phoneNumber);
      expect((await me(response.body.accessToken)).status).toBe(200);
    });

    it('answers the same 401 for a wrong password and for a number without an account', async () => {
      const phoneNumber = nextPhone();
      await client.register(phoneNumber, PASSWORD);
      const wrong = await client
        .post('/auth/login', { phoneNumber, password: NEW_PASSWORD })
        .expect(401);
      const unknown = await client
        .post('/auth/login', { phoneNumber: nextPhone(), password: PASSWORD })
        .expect(401);
      const expected = {
        success: false,
        message: 'Invalid credentials.',
        error: 'INVALID_CREDENTIALS',
      };
      expect(wrong.body).toEqual(expected);
      expect(unknown.body).toEqual(expected);
      expect(Object.keys(unknown.headers).sort()).toEqual(Object.keys(wrong.headers).sort());
    });
  });

  describe('password login with SMS two-factor', () => {
    let phoneNumber: string;

    beforeAll(async () => {
      phoneNumber = nextPhone();
      const session = await client.register(phoneNumber, PASSWORD);
      await client.enableTwoFactor(session);
    });

    async function challenge(): Promise<string> {
      const response = await client
        .post('/auth/login', { phoneNumber, password: PASSWORD })
        .expect(200);
      expect(response.body).toEqual({
        twoFactorRequired: true,
        twoFactorToken: expect.any(String),
      });
      return response.body.twoFactorToken as string;
    }

    it('gives no tokens until the SMS step succeeds, then a session (with the code)', async () => {
      const twoFactorToken = await challenge();
      // The challenge is not an access token.
      expect((await me(twoFactorToken)).status).toBe(401);
      const code = await client.code(phoneNumber, 'two_factor');
      const wrong = code === '000000' ? '111111' : '000000';
      const refused = await client
        .post('/auth/login/2fa', { twoFactorToken, code: wrong })
        .expect(401);
      expect(refused.body.error).toBe('INVALID_CODE');
      expect(refused.body.accessToken).toBeUndefined();
      const response = await client.post('/auth/login/2fa', { twoFactorToken, code }).expect(200);
      expectSession(response.body, phoneNumber);
      expect(response.body.user.twoFactorEnabled).toBe(true);
    });

    it('completes with a verification_token too', async () => {
      const twoFactorToken = await challenge();
      const verificationToken = await client.verificationToken(phoneNumber, 'two_factor');
      const response = await client
        .post('/auth/login/2fa', { twoFactorToken, verificationToken })
        .expect(200);
      expectSession(response.body, phoneNumber);
    });

    it('refuses an expired challenge, and a password that is wrong gets no challenge', async () => {
      const twoFactorToken = await challenge();
      clock.advance(301_000);
      const code = await client.code(phoneNumber, 'two_factor');
      const expired = await client.post('/auth/login/2fa', { twoFactorToken, code }).expect(401);
      expect(expired.body.error).toBe('INVALID_TWO_FACTOR_TOKEN');
      const wrong = await client
        .post('/auth/login', { phoneNumber, password: NEW_PASSWORD })
        .expect(401);
      expect(wrong.body.twoFactorToken).toBeUndefined();
    });

    it('does not let SMS login skip the password of a 2FA account', async () => {
      const code = await client.code(phoneNumber, 'login');
      const refused = await client.post('/auth/login-sms', { phoneNumber, code }).expect(403);
      expect(refused.body.error).toBe('PASSWORD_LOGIN_REQUIRED');
    });

    it('turns 2FA off only with a fresh two_factor proof', async () => {
      const other = nextPhone();
      const session = await client.register(other, PASSWORD);
      await client.post('/auth/2fa/enable', {}, session.accessToken).expect(400);
      await client.post('/auth/2fa/enable', { code: '123456' }, session.accessToken).expect(401);
      await client.enableTwoFactor(session);
      expect((await me(session.accessToken)).body.twoFactorEnabled).toBe(true);
      const code = await client.code(other, 'two_factor');
      const disabled = await client
        .post('/auth/2fa/disable', { code }, session.accessToken)
        .expect(200);
      expect(disabled.body.twoFactorEnabled).toBe(false);
      await client.post('/auth/2fa/disable', {}).expect(401);
      const login = await client.post('/auth/login', { phoneNumber: other, password: PASSWORD });
      expect(login.body.accessToken).toEqual(expect.any(String));
    });
  });

  describe('login by SMS', () => {
    it('answers tokens for the login code', async () => {
      const phoneNumber = nextPhone();
      await client.register(phoneNumber, PASSWORD);
      const session = await client.loginWithSms(phoneNumber);
      expectSession(session, phoneNumber);
    });

    it('answers tokens for the verification_token of a login code', async () => {
      const phoneNumber = nextPhone();
      await client.register(phoneNumber, PASSWORD);
      const verificationToken = await client.verificationToken(phoneNumber, 'login');
      const response = await client
        .post('/auth/login-sms', { phoneNumber, verificationToken })
        .expect(200);
      expectSession(response.body, phoneNumber);
    });

    it('delivers no login code to a number without an account', async () => {
      const phoneNumber = nextPhone();
      await client.sendCode(phoneNumber, 'login').expect(200);
      expect(client.messagesTo(phoneNumber)).toHaveLength(0);
      const refused = await client
        .post('/auth/login-sms', { phoneNumber, code: '123456' })
        .expect(401);
      expect(refused.body.error).toBe('INVALID_CODE');
    });

    it('yields exactly one session for 20 concurrent uses of one verification token', async () => {
      const phoneNumber = nextPhone();
      await client.register(phoneNumber, PASSWORD);
      const verificationToken = await client.verificationToken(phoneNumber, 'login');
      const responses = await Promise.all(
        Array.from({ length: 20 }, () =>
          client.post('/auth/login-sms', { phoneNumber, verificationToken }),
        ),
      );
      const statuses = responses.map((response) => response.status);
      expect(statuses.filter((status) => status === 200)).toHaveLength(1);
      expect(statuses.filter((status) => status === 401)).toHaveLength(19);
      const [user] = await service.app
        .get(DataSource)
        .query(`SELECT id FROM users WHERE phone_number = $1`, [phoneNumber]);
      // The registration session and this one; the 19 losers issued nothing.
      const [{ count }] = await service.app
        .get(DataSource)
        .query(`SELECT count(*)::int AS count FROM refresh_tokens WHERE user_id = $1`, [user.id]);
      expect(count).toBe(2);
    });
  });

  describe('proofs are bound to phone and purpose, and used once', () => {
    let phoneNumber: string;

    beforeAll(async () => {
      phoneNumber = nextPhone();
      await client.register(phoneNumber, PASSWORD);
    });

    it('refuses a proof made for another purpose', async () => {
      const resetToken = await client.verificationToken(phoneNumber, 'password_reset');
      await client
        .post('/auth/login-sms', { phoneNumber, verificationToken: resetToken })
        .expect(401);
      const twoFactorCode = await client.code(phoneNumber, 'two_factor');
      await client.post('/auth/login-sms', { phoneNumber, code: twoFactorCode }).expect(401);
    });

    it('refuses a registration proof at login, without spending it', async () => {
      const fresh = nextPhone();
      const verificationToken = await client.verificationToken(fresh, 'registration');
      await client.post('/auth/login-sms', { phoneNumber: fresh, verificationToken }).expect(401);
      await client
        .post('/auth/register', { phoneNumber: fresh, password: PASSWORD, verificationToken })
        .expect(200);
    });

    it('refuses a proof made for another phone', async () => {
      const other = nextPhone();
      await client.register(other, PASSWORD);
      const otherToken = await client.verificationToken(other, 'login');
      const response = await client
        .post('/auth/login-sms', { phoneNumber, verificationToken: otherToken })
        .expect(401);
      expect(response.body.error).toBe('INVALID_CODE');
      // Still good for its own phone: the refusal did not spend it.
      await client
        .post('/auth/login-sms', { phoneNumber: other, verificationToken: otherToken })
        .expect(200);
    });

    it('refuses a token and a code the second time', async () => {
      const verificationToken = await client.verificationToken(phoneNumber, 'login');
      await client.post('/auth/login-sms', { phoneNumber, verificationToken }).expect(200);
      await client.post('/auth/login-sms', { phoneNumber, verificationToken }).expect(401);
      const code = await client.code(phoneNumber, 'login');
      await client.post('/auth/login-sms', { phoneNumber, code }).expect(200);
      await client.post('/auth/login-sms', { phoneNumber, code }).expect(401);
    });
  });

  describe('password reset by SMS', () => {
    it('sets the new password, ends every session and tells the owner (with the code)', async () => {
      const phoneNumber = nextPhone();
      const first = await client.register(phoneNumber, PASSWORD);
      const second = await client.loginWithSms(phoneNumber);
      const code = await client.code(phoneNumber, 'password_reset');
      const reset = await client
        .post('/auth/reset-password-sms', { phoneNumber, code, newPassword: NEW_PASSWORD })
        .expect(204);
      // The service's own log line is tied to the request that wrote it.
      const line = service.logs.find(
        (entry) => entry.msg === 'password reset by SMS; every session ended',
      );
      expect(line?.reqId).toBe(reset.headers['x-request-id']);

      for (const session of [first, second]) {
        const refreshed = await client
          .post('/auth/refresh', { refreshToken: session.refreshToken })
          .expect(401);
        expect(refreshed.body.error).toBe('INVALID_REFRESH_TOKEN');
        expect((await me(session.accessToken)).status).toBe(401);
      }
      const old = await client.post('/auth/login', { phoneNumber, password: PASSWORD }).expect(401);
      expect(old.body.error).toBe('INVALID_CREDENTIALS');
      const fresh = await client
        .post('/auth/login', { phoneNumber, password: NEW_PASSWORD })
        .expect(200);
      expectSession(fresh.body, phoneNumber);
      expect(client.messagesTo(phoneNumber).at(-1)?.body).toMatch(/password was reset/);
    });

    it('works with a verification_token too', async () => {
      const phoneNumber = nextPhone();
      await client.register(phoneNumber, PASSWORD);
      const verificationToken = await client.verificationToken(phoneNumber, 'password_reset');
      await client
        .post('/auth/reset-password-sms', {
          phoneNumber,
          verificationToken,
          newPassword: NEW_PASSWORD,
        })
        .expect(204);
      await client.post('/auth/login', { phoneNumber, password: NEW_PASSWORD }).expect(200);
    });

    it('refuses a weak new password before spending the code', async () => {
      const phoneNumber = nextPhone();
      await client.register(phoneNumber, PASSWORD);
      const code = await client.code(phoneNumber, 'password_reset');
      const weak = await client
        .post('/auth/reset-password-sms', { phoneNumber, code, newPassword: '12345678' })
        .expect(400);
      expect(weak.body).toMatchObject({ error: 'PASSWORD_TOO_WEAK', details: ['common'] });
      await client
        .post('/auth/reset-password-sms', { phoneNumber, code, newPassword: NEW_PASSWORD })
        .expect(204);
    });
  });

  describe('refresh tokens', () => {
    it('rotate on every use; a reused one revokes its whole family, and only that family', async () => {
      const phoneNumber = nextPhone();
      const family = await client.register(phoneNumber, PASSWORD);
      const otherSession = await client.loginWithSms(phoneNumber);

      const rotated = await client
        .post('/auth/refresh', { refreshToken: family.refreshToken })
        .expect(200);
      expectSession(rotated.body, phoneNumber);
      expect(rotated.body.refreshToken).not.toBe(family.refreshToken);
      expect((await me(rotated.body.accessToken)).status).toBe(200);

      const replay = await client
        .post('/auth/refresh', { refreshToken: family.refreshToken })
        .expect(401);
      expect(replay.body.error).toBe('INVALID_REFRESH_TOKEN');
      // The thief's replay also killed the legitimate successor.
      await client.post('/auth/refresh', { refreshToken: rotated.body.refreshToken }).expect(401);
      // Another login of the same user is another family.
      await client.post('/auth/refresh', { refreshToken: otherSession.refreshToken }).expect(200);
    });

    it('yield exactly one successor for 20 concurrent uses of one token, then the family is dead', async () => {
      const phoneNumber = nextPhone();
      const session = await client.register(phoneNumber, PASSWORD);
      const responses = await Promise.all(
        Array.from({ length: 20 }, () =>
          client.post('/auth/refresh', { refreshToken: session.refreshToken }),
        ),
      );
      const winners = responses.filter((response) => response.status === 200);
      expect(winners).toHaveLength(1);
      expect(responses.filter((response) => response.status === 401)).toHaveLength(19);
      await client
        .post('/auth/refresh', { refreshToken: winners[0].body.refreshToken })
        .expect(401);
    });

    it('expire after JWT_REFRESH_TTL_SECONDS', async () => {
      const session = await client.register(nextPhone(), PASSWORD);
      clock.advance(2_592_000_000 + 1_000);
      await client.post('/auth/refresh', { refreshToken: session.refreshToken }).expect(401);
    });

    it('end with logout', async () => {
      const session = await client.register(nextPhone(), PASSWORD);
      await client.post('/auth/logout', { refreshToken: session.refreshToken }).expect(204);
      await client.post('/auth/refresh', { refreshToken: session.refreshToken }).expect(401);
      await client.post('/auth/logout', { refreshToken: 'rt_unknown' }).expect(204);
    });
  });

  describe('access tokens and the global guard', () => {
    it('denies routes by default and keeps public routes public', async () => {
      const missing = await client.get('/auth/me').expect(401);
      expect(missing.body).toEqual({
        success: false,
        message: 'Authentication required.',
        error: 'UNAUTHORIZED',
      });
      expect(missing.headers['www-authenticate']).toMatch(/^Bearer/);
      const garbage = await client.get('/auth/me', 'not-a-token').expect(401);
      expect(garbage.body.error).toBe('UNAUTHORIZED');
      await client.post('/auth/2fa/enable', { code: '123456' }).expect(401);
      await client.post('/auth/change-phone', {}).expect(401);
      await client.get('/health').expect(200);
      await client.get('/phone/countries').expect(200);
    });

    it('expire after JWT_ACCESS_TTL_SECONDS', async () => {
      const session = await client.register(nextPhone(), PASSWORD);
      clock.advance(901_000);
      expect((await me(session.accessToken)).status).toBe(401);
      const refreshed = await client
        .post('/auth/refresh', { refreshToken: session.refreshToken })
        .expect(200);
      expect((await me(refreshed.body.accessToken)).status).toBe(200);
    });
  });

  describe('change phone', () => {
    it('needs the password and proof of the new number; ends other sessions and tells the old number', async () => {
      const oldPhone = nextPhone();
      const newPhone = nextPhone();
      const session = await client.register(oldPhone, PASSWORD);
      const elsewhere = await client.loginWithSms(oldPhone);
      const code = await client.code(newPhone, 'registration');

      const wrongPassword = await client
        .post(
          '/auth/change-phone',
          { newPhoneNumber: newPhone, code, currentPassword: NEW_PASSWORD },
          session.accessToken,
        )
        .expect(401);
      expect(wrongPassword.body.error).toBe('INVALID_CREDENTIALS');

      const response = await client
        .post(
          '/auth/change-phone',
          { newPhoneNumber: newPhone, code, currentPassword: PASSWORD },
          session.accessToken,
        )
        .expect(200);
      expectSession(response.body, newPhone);
      expect((await me(response.body.accessToken)).body.phoneNumber).toBe(newPhone);

      for (const old of [session, elsewhere]) {
        expect((await me(old.accessToken)).status).toBe(401);
        await client.post('/auth/refresh', { refreshToken: old.refreshToken }).expect(401);
      }
      expect(client.messagesTo(oldPhone).at(-1)?.body).toMatch(
        /phone number on your account was changed/,
      );
      await client.post('/auth/login', { phoneNumber: newPhone, password: PASSWORD }).expect(200);
      await client.post('/auth/login', { phoneNumber: oldPhone, password: PASSWORD }).expect(401);
      // The old number is free again.
      await client.register(oldPhone, NEW_PASSWORD);
    });

    it('accepts a two_factor proof for the current number instead of the password', async () => {
      const oldPhone = nextPhone();
      const newPhone = nextPhone();
      const session = await client.register(oldPhone, PASSWORD);
      const currentVerificationToken = await client.verificationToken(oldPhone, 'two_factor');
      const verificationToken = await client.verificationToken(newPhone, 'registration');
      const response = await client
        .post(
          '/auth/change-phone',
          { newPhoneNumber: newPhone, verificationToken, currentVerificationToken },
          session.accessToken,
        )
        .expect(200);
      expect(response.body.user.phoneNumber).toBe(newPhone);
    });

    it('cannot take a number that has an account: no code reaches it', async () => {
      const mine = nextPhone();
      const theirs = nextPhone();
      const session = await client.register(mine, PASSWORD);
      await client.register(theirs, PASSWORD);
      const before = client.messagesTo(theirs).length;
      await client.sendCode(theirs, 'registration').expect(200);
      expect(client.messagesTo(theirs)).toHaveLength(before);
      const refused = await client
        .post(
          '/auth/change-phone',
          { newPhoneNumber: theirs, code: '123456', currentPassword: PASSWORD },
          session.accessToken,
        )
        .expect(401);
      expect(refused.body.error).toBe('INVALID_CODE');
      expect((await me(session.accessToken)).body.phoneNumber).toBe(mine);
    });

    it('asks for exactly one kind of current authentication', async () => {
      const phoneNumber = nextPhone();
      const session = await client.register(phoneNumber, PASSWORD);
      const none = await client
        .post(
          '/auth/change-phone',
          { newPhoneNumber: nextPhone(), code: '123456' },
          session.accessToken,
        )
        .expect(400);
      expect(none.body.message).toContain('currentPassword');
      await client
        .post(
          '/auth/change-phone',
          {
            newPhoneNumber: nextPhone(),
            code: '123456',
            currentPassword: PASSWORD,
            currentCode: '123456',
          },
          session.accessToken,
        )
        .expect(400);
      const same = await client
        .post(
          '/auth/change-phone',
          { newPhoneNumber: phoneNumber, code: '123456', currentPassword: PASSWORD },
          session.accessToken,
        )
        .expect(400);
      expect(same.body.error).toBe('SAME_PHONE_NUMBER');
    });
  });

  it('never writes a phone number, password, code or token to the log', async () => {
    const phoneNumber = nextPhone();
    const session = await client.register(phoneNumber, PASSWORD);
    await client.post('/auth/login', { phoneNumber, password: PASSWORD }).expect(200);
    await client.post('/auth/refresh', { refreshToken: session.refreshToken }).expect(200);
    await client.post('/auth/refresh', { refreshToken: session.refreshToken }).expect(401);
    const code = await client.code(phoneNumber, 'password_reset');
    await client
      .post('/auth/reset-password-sms', { phoneNumber, code, newPassword: NEW_PASSWORD })
      .expect(204);
    const logs = JSON.stringify(service.logs);
    for (const secret of [
      phoneNumber.slice(1),
      PASSWORD,
      NEW_PASSWORD,
      code,
      session.refreshToken,
      session.accessToken,
    ]) {
      expect(logs).not.toContain(secret);
    }
    expect(service.logs.some((line) => String(line.msg).includes('family is revoked'))).toBe(true);
  });
});
