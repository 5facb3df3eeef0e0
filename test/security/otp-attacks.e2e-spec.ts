import supertest from 'supertest';
import { DataSource } from 'typeorm';
import { Clock } from '../../src/common/clock';
import { Hasher } from '../../src/common/hasher';
import { Purpose } from '../../src/common/purpose';
import { createUser } from '../factories/user.factory';
import { FakeTwilioServer } from '../fakes/fake-twilio-server';
import { AuthClient, Session, authTestEnvironment } from '../support/auth-client';
import { startFakeTwilio } from '../support/fake-twilio-app';
import { FakeClock } from '../support/fake-clock';
import { RELAXED_LIMITS } from '../support/relaxed-limits';
import { TestApp, startTestApp } from '../support/test-app';
import { REQUEST_TIMEOUT_MS, envelopeProblem } from './support/http';
import { SecretLedger, findLeaks } from './support/leak-scan';

const MAX_ATTEMPTS = 3;
const PHONE_GUESS_LIMIT = 10;
const LOGIN_CODE_LIFETIME_MS = 5 * 60_000;
const TOKEN_LIFETIME_MS = 600_000;

/**
 * Attacks on one-time codes and the proofs made from them (docs/SECURITY.md rules 1, 3 and 4):
 * guessing across verifications and resends, bursts of concurrent guesses and reuses, proofs
 * replayed for another purpose or phone, and codes used right at their expiry.
 */
describe('OTP attacks', () => {
  let fake: FakeTwilioServer;
  let service: TestApp;
  let client: AuthClient;
  let clock: FakeClock;
  const ledger = new SecretLedger();
  let counter = 0;

  const nextPhone = () => ledger.phone(`+2519150${String((counter += 1)).padStart(5, '0')}`);

  beforeAll(async () => {
    clock = new FakeClock();
    fake = await startFakeTwilio({ now: () => clock.now().getTime() });
    service = await startTestApp({
      env: {
        ...RELAXED_LIMITS,
        ...authTestEnvironment(fake),
        SMS_MAX_ATTEMPTS: String(MAX_ATTEMPTS),
        SMS_VERIFY_PHONE_LIMIT: String(PHONE_GUESS_LIMIT),
        SMS_EXPIRY_LOGIN_MINUTES: String(LOGIN_CODE_LIFETIME_MS / 60_000),
        SMS_VERIFICATION_TOKEN_TTL_SECONDS: String(TOKEN_LIFETIME_MS / 1000),
      },
      override: (builder) => builder.overrideProvider(Clock).useValue(clock),
    });
    client = new AuthClient(service, fake);
  });
  afterAll(async () => {
    await service?.close();
    await fake?.stop();
  });

  function post(path: string, body: object): supertest.Test {
    return client.post(path, body).timeout(REQUEST_TIMEOUT_MS);
  }

  function verify(phoneNumber: string, code: string, purpose: Purpose): supertest.Test {
    return post('/sms/verify-code', { phoneNumber, code, purpose });
  }

  async function accountPhone(): Promise<string> {
    const phoneNumber = nextPhone();
    await createUser(service, { phoneNumber });
    return phoneNumber;
  }

  function wrong(code: string): string {
    return code === '000000' ? '999999' : '000000';
  }

  /** A code that is none of the phone's live codes, the undelivered ones included. */
  async function wrongForAll(phoneNumber: string): Promise<string> {
    const rows: { code_hash: string }[] = await service.app
      .get(DataSource)
      .query(
        `SELECT code_hash FROM sms_verifications WHERE phone_number_hash = $1 AND status = 'pending'`,
        [service.app.get(Hasher).hash('phone', phoneNumber)],
      );
    const hasher = service.app.get(Hasher);
    for (let candidate = 0; ; candidate += 1) {
      const guess = String(candidate).padStart(6, '0');
      if (!rows.some((row) => hasher.matches('code', guess, row.code_hash))) return guess;
    }
  }

  async function attemptsCounted(phoneNumber: string, purpose: Purpose): Promise<number[]> {
    const rows: { attempts: number }[] = await service.app.get(DataSource).query(
      `SELECT attempts FROM sms_verifications
          WHERE phone_number_hash = $1 AND purpose = $2 ORDER BY created_at, id`,
      [service.app.get(Hasher).hash('phone', phoneNumber), purpose],
    );
    return rows.map((row) => row.attempts);
  }

  function statuses(responses: supertest.Response[]): Record<number, number> {
    const counts: Record<number, number> = {};
    for (const response of responses) counts[response.status] = (counts[response.status] ?? 0) + 1;
    return counts;
  }

  function expectNoServerErrors(responses: supertest.Response[]): void {
    expect(responses.map(envelopeProblem).filter(Boolean)).toEqual([]);
  }

  describe('brute force', () => {
    it('gives one verification SMS_MAX_ATTEMPTS guesses, and a resend does not reset them', async () => {
      const phoneNumber = nextPhone();
      const first = await client.code(phoneNumber, 'registration');
      for (let guess = 0; guess < MAX_ATTEMPTS - 1; guess += 1) {
        const answer = await verify(phoneNumber, wrong(first), 'registration').expect(200);
        expect(answer.body).toMatchObject({ status: 'pending', valid: false });
      }
      const resent = await client.code(phoneNumber, 'registration');
      const last = await verify(phoneNumber, wrong(resent), 'registration').expect(429);
      expect(last.body).toMatchObject({ success: false, error: 'VERIFICATION_ATTEMPTS_EXCEEDED' });

      const right = await verify(phoneNumber, resent, 'registration').expect(404);
      expect(right.body).toMatchObject({ success: false, error: 'VERIFICATION_NOT_FOUND' });
      expect(await attemptsCounted(phoneNumber, 'registration')).toEqual([MAX_ATTEMPTS]);
    });

    it('caps wrong guesses per phone across verifications, resends, purposes and endpoints, even for the right code', async () => {
      const phoneNumber = await accountPhone();
      let guesses = 0;

      const login = await client.code(phoneNumber, 'login');
      await verify(phoneNumber, wrong(login), 'login').expect(200);
      await verify(phoneNumber, wrong(login), 'login').expect(200);
      const resentLogin = await client.code(phoneNumber, 'login');
      // The auth endpoints check codes through the same counters as /sms/verify-code.
      const viaLogin = await post('/auth/login-sms', { phoneNumber, code: wrong(resentLogin) });
      expect(viaLogin.status).toBe(429);
      expect(viaLogin.body.error).toBe('VERIFICATION_ATTEMPTS_EXCEEDED');
      guesses += 3;

      // A new verification gets new per-verification attempts, not a new per-phone budget.
      const secondLogin = await client.code(phoneNumber, 'login');
      for (let guess = 0; guess < 3; guess += 1) {
        await verify(phoneNumber, wrong(secondLogin), 'login');
      }
      guesses += 3;
      const reset = await client.code(phoneNumber, 'password_reset');
      await verify(phoneNumber, wrong(reset), 'password_reset').expect(200);
      await verify(phoneNumber, wrong(reset), 'password_reset').expect(200);
      guesses += 2;
      const twoFactor = await client.code(phoneNumber, 'two_factor');
      await verify(phoneNumber, wrong(twoFactor), 'two_factor').expect(200);
      await verify(phoneNumber, wrong(twoFactor), 'two_factor').expect(200);
      guesses += 2;
      expect(guesses).toBe(PHONE_GUESS_LIMIT);

      for (const [code, purpose] of [
        [reset, 'password_reset'],
        [twoFactor, 'two_factor'],
      ] as const) {
        const refused = await verify(phoneNumber, code, purpose).expect(429);
        expect(refused.body).toMatchObject({ success: false, error: 'RATE_LIMITED' });
        expect(refused.body.retryAfter).toBeGreaterThan(0);
        expect(refused.headers['retry-after']).toBeDefined();
      }
      const freshLogin = await client.code(phoneNumber, 'login');
      const viaEndpoint = await post('/auth/login-sms', { phoneNumber, code: freshLogin });
      expect(viaEndpoint.status).toBe(429);
      expect(viaEndpoint.body.error).toBe('RATE_LIMITED');

      const counted = [
        ...(await attemptsCounted(phoneNumber, 'login')),
        ...(await attemptsCounted(phoneNumber, 'password_reset')),
        ...(await attemptsCounted(phoneNumber, 'two_factor')),
      ];
      expect(counted.reduce((sum, attempts) => sum + attempts, 0)).toBe(PHONE_GUESS_LIMIT);
    });

    it('clears the per-phone count after a right code', async () => {
      const phoneNumber = await accountPhone();
      const first = await client.code(phoneNumber, 'login');
      await verify(phoneNumber, wrong(first), 'login').expect(200);
      await verify(phoneNumber, wrong(first), 'login').expect(200);
      await verify(phoneNumber, first, 'login').expect(200);
      for (let round = 0; round < PHONE_GUESS_LIMIT / 2; round += 1) {
        const code = await client.code(phoneNumber, 'password_reset');
        await verify(phoneNumber, wrong(code), 'password_reset').expect(200);
        await verify(phoneNumber, code, 'password_reset').expect(200);
      }
    });
  });

  describe('concurrency', () => {
    it('counts at most SMS_MAX_ATTEMPTS of a burst of wrong guesses at one verification', async () => {
      const phoneNumber = nextPhone();
      const code = await client.code(phoneNumber, 'registration');
      const burst = await Promise.all(
        Array.from({ length: PHONE_GUESS_LIMIT - 2 }, () =>
          verify(phoneNumber, wrong(code), 'registration'),
        ),
      );
      expectNoServerErrors(burst);
      // Attempts 1 and 2 answer "pending"; the third fails the verification; the rest find none.
      expect(burst.filter((answer) => answer.status === 200)).toHaveLength(MAX_ATTEMPTS - 1);
      expect(burst.every((answer) => [200, 404, 429].includes(answer.status))).toBe(true);
      expect(await attemptsCounted(phoneNumber, 'registration')).toEqual([MAX_ATTEMPTS]);
      await verify(phoneNumber, code, 'registration').expect(404);
    });

    it('lets exactly SMS_VERIFY_PHONE_LIMIT guesses of a burst through, across four verifications', async () => {
      const phoneNumber = await accountPhone();
      // Four live verifications (registration is suppressed for an account, but still guessable).
      const purposes: Purpose[] = ['registration', 'login', 'password_reset', 'two_factor'];
      for (const purpose of purposes) {
        await client.sendCode(phoneNumber, purpose).expect(200);
      }
      const guess = await wrongForAll(phoneNumber);
      const burst = await Promise.all(
        Array.from({ length: 40 }, (_, index) =>
          verify(phoneNumber, guess, purposes[index % purposes.length]),
        ),
      );
      expectNoServerErrors(burst);
      // Four verifications hold twelve attempts; the phone's limit refuses the guesses counted
      // beyond ten, which give their attempts back uncompared. Checks that found no attempt left
      // spend none of the phone's budget.
      const rateLimited = burst.filter((answer) => answer.body.error === 'RATE_LIMITED');
      expect(rateLimited.length).toBeGreaterThanOrEqual(MAX_ATTEMPTS * purposes.length - 10);
      let counted = 0;
      for (const purpose of purposes) {
        counted += (await attemptsCounted(phoneNumber, purpose)).reduce((sum, n) => sum + n, 0);
      }
      expect(counted).toBe(PHONE_GUESS_LIMIT);
    });

    it('approves one code once when it is checked 20 times at once', async () => {
      const phoneNumber = nextPhone();
      const code = await client.code(phoneNumber, 'registration');
      const burst = await Promise.all(
        Array.from({ length: 20 }, () => verify(phoneNumber, code, 'registration')),
      );
      expectNoServerErrors(burst);
      const approved = burst.filter((answer) => answer.status === 200);
      expect(approved).toHaveLength(1);
      expect(approved[0].body).toMatchObject({ status: 'approved', valid: true });
      ledger.absorb(approved[0].body);
    });

    it('opens one session when one code is sent to /auth/login-sms 10 times at once', async () => {
      const phoneNumber = await accountPhone();
      const code = await client.code(phoneNumber, 'login');
      const burst = await Promise.all(
        Array.from({ length: 10 }, () => post('/auth/login-sms', { phoneNumber, code })),
      );
      expectNoServerErrors(burst);
      burst.forEach((answer) => ledger.absorb(answer.body));
      expect(burst.filter((answer) => answer.status === 200)).toHaveLength(1);
    });

    it('opens one session when one verification_token is used 20 times at once', async () => {
      const phoneNumber = await accountPhone();
      const verificationToken = await client.verificationToken(phoneNumber, 'login');
      ledger.tokens.add(verificationToken);
      const burst = await Promise.all(
        Array.from({ length: 20 }, () =>
          post('/auth/login-sms', { phoneNumber, verificationToken }),
        ),
      );
      expectNoServerErrors(burst);
      burst.forEach((answer) => ledger.absorb(answer.body));
      expect(statuses(burst)).toEqual({ 200: 1, 401: 19 });
      expect(burst.find((answer) => answer.status === 401)!.body.error).toBe('INVALID_CODE');
    });

    it('rotates one refresh token once when it is used 20 times at once, and revokes its family', async () => {
      const phoneNumber = await accountPhone();
      const session: Session = await client.loginWithSms(phoneNumber);
      ledger.absorb(session);
      const burst = await Promise.all(
        Array.from({ length: 20 }, () =>
          post('/auth/refresh', { refreshToken: session.refreshToken }),
        ),
      );
      expectNoServerErrors(burst);
      burst.forEach((answer) => ledger.absorb(answer.body));
      expect(statuses(burst)).toEqual({ 200: 1, 401: 19 });
      // The reuse is a theft signal: the successor the one winner got is revoked too.
      const successor = burst.find((answer) => answer.status === 200)!.body.refreshToken as string;
      const after = await post('/auth/refresh', { refreshToken: successor }).expect(401);
      expect(after.body.error).toBe('INVALID_REFRESH_TOKEN');
    });
  });

  describe('replayed proofs', () => {
    it('refuses a verification_token for another purpose or phone, without spending it', async () => {
      const owner = nextPhone();
      const other = await accountPhone();
      const password = ledger.password('replay-canary-Password-41');
      const token = await client.verificationToken(owner, 'registration');
      ledger.tokens.add(token);

      const attempts: [string, object][] = [
        ['/auth/login-sms', { phoneNumber: owner, verificationToken: token }],
        [
          '/auth/reset-password-sms',
          { phoneNumber: owner, verificationToken: token, newPassword: password },
        ],
        ['/auth/login-sms', { phoneNumber: other, verificationToken: token }],
        ['/auth/register', { phoneNumber: other, verificationToken: token, password }],
        ['/auth/register', { phoneNumber: nextPhone(), verificationToken: token, password }],
      ];
      for (const [path, body] of attempts) {
        const refused = await post(path, body);
        expect({ path, status: refused.status, body: refused.body }).toEqual({
          path,
          status: 401,
          body: { success: false, message: 'Invalid or expired code.', error: 'INVALID_CODE' },
        });
      }
      const registered = await post('/auth/register', {
        phoneNumber: owner,
        verificationToken: token,
        password,
      }).expect(200);
      ledger.absorb(registered.body);
      await post('/auth/login-sms', { phoneNumber: owner, verificationToken: token }).expect(401);
    });

    it('refuses a code for another purpose or phone, and it still works where it belongs', async () => {
      const owner = await accountPhone();
      const other = await accountPhone();
      const login = await client.code(owner, 'login');

      const noVerification = await verify(owner, login, 'password_reset').expect(404);
      expect(noVerification.body.error).toBe('VERIFICATION_NOT_FOUND');

      let reset = await client.code(owner, 'password_reset');
      // Codes are random: make sure the two differ, so "refused" means "bound to its purpose".
      while (reset === login) reset = await client.code(owner, 'password_reset');
      const otherPurpose = await verify(owner, login, 'password_reset').expect(200);
      expect(otherPurpose.body).toMatchObject({ status: 'pending', valid: false });

      let othersCode = await client.code(other, 'login');
      while (othersCode === login) othersCode = await client.code(other, 'login');
      const otherPhone = await verify(other, login, 'login').expect(200);
      expect(otherPhone.body).toMatchObject({ status: 'pending', valid: false });
      await post('/auth/login-sms', { phoneNumber: other, code: login }).expect(401);

      const session = await post('/auth/login-sms', { phoneNumber: owner, code: login }).expect(
        200,
      );
      ledger.absorb(session.body);
    });
  });

  describe('expiry at the boundary', () => {
    it('accepts a code 1 ms before it expires', async () => {
      const phoneNumber = await accountPhone();
      const code = await client.code(phoneNumber, 'login');
      clock.advance(LOGIN_CODE_LIFETIME_MS - 1);
      const approved = await verify(phoneNumber, code, 'login').expect(200);
      expect(approved.body).toMatchObject({ status: 'approved', valid: true });
      ledger.absorb(approved.body);
    });

    it('answers 404 for a code at the instant it expires, and 401 at the auth endpoints', async () => {
      const phoneNumber = await accountPhone();
      const code = await client.code(phoneNumber, 'login');
      clock.advance(LOGIN_CODE_LIFETIME_MS);
      const expired = await verify(phoneNumber, code, 'login').expect(404);
      expect(expired.body).toEqual({
        success: false,
        message: 'Invalid or expired code. Request a new code.',
        error: 'VERIFICATION_NOT_FOUND',
      });
      await post('/auth/login-sms', { phoneNumber, code }).expect(401);
    });

    it('accepts a verification_token 1 ms before it expires and refuses it at expiry', async () => {
      const early = await accountPhone();
      const late = await accountPhone();
      const earlyToken = await client.verificationToken(early, 'login');
      const lateToken = await client.verificationToken(late, 'login');
      ledger.tokens.add(earlyToken).add(lateToken);

      clock.advance(TOKEN_LIFETIME_MS - 1);
      const session = await post('/auth/login-sms', {
        phoneNumber: early,
        verificationToken: earlyToken,
      }).expect(200);
      ledger.absorb(session.body);
      clock.advance(1);
      await post('/auth/login-sms', { phoneNumber: late, verificationToken: lateToken }).expect(
        401,
      );
    });
  });

  it('leaves no number, code, token, password or secret in logs, database rows or Redis keys', async () => {
    ledger.harvest(fake);
    expect(ledger.codes.size).toBeGreaterThan(20);
    expect(await findLeaks(service, ledger)).toEqual([]);
  });
});
