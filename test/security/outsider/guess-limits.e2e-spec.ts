import { DataSource } from 'typeorm';
import { Hasher } from '../../../src/common/hasher';
import { createUser } from '../../factories/user.factory';
import { FakeTwilioServer } from '../../fakes/fake-twilio-server';
import { AuthClient, authTestEnvironment } from '../../support/auth-client';
import { RELAXED_LIMITS } from '../../support/relaxed-limits';
import { TestApp, startTestApp } from '../../support/test-app';
import { TEST_TWILIO } from '../../support/twilio-test-credentials';

/**
 * The limits on guessing codes and passwords must not become a way to lock a number's owner out
 * (OWASP Authentication Cheat Sheet, "account lockout"): a stranger who knows the number sends
 * wrong codes or passwords from many networks, and the owner, from a network of their own, must
 * still check their code and log in. Guessing stays bounded: per number and client by
 * SMS_VERIFY_PHONE_LIMIT and AUTH_PASSWORD_ATTEMPTS_LIMIT (10), and per number from every client
 * together by their ceilings (default ten times as many). Every limit here is at its default.
 */

/** supertest connects over loopback; that is "our proxy", which names the client. */
const OUR_PROXY = '127.0.0.1,::1';
const PER_CLIENT = 10;
const CEILING = 10 * PER_CLIENT;
const MAX_ATTEMPTS = 3;
const PASSWORD = 'lantern-mosaic-47';
const WRONG_PASSWORD = 'not-the-password-9';
const RATE_LIMITED = {
  success: false,
  message: 'Rate limit exceeded. Please try again later.',
  error: 'RATE_LIMITED',
  retryAfter: expect.any(Number),
};

let phoneCounter = 0;
function nextPhone(): string {
  phoneCounter += 1;
  return `+2519${String(70 + phoneCounter).padStart(3, '0')}${String(phoneCounter).padStart(5, '0')}`;
}

let networkCounter = 0;
/** A client on a network of its own (an IPv4 /24 apart from every other). */
function nextNetwork(): string {
  networkCounter += 1;
  return `198.${18 + Math.floor(networkCounter / 250)}.${networkCounter % 250}.7`;
}

describe("A stranger's guesses never lock the owner out", () => {
  let fake: FakeTwilioServer;
  let service: TestApp;
  let client: AuthClient;

  beforeAll(async () => {
    fake = await FakeTwilioServer.start({
      accountSid: TEST_TWILIO.accountSid,
      authToken: TEST_TWILIO.authToken,
    });
    const env: Record<string, string> = {
      ...RELAXED_LIMITS,
      ...authTestEnvironment(fake),
      TRUST_PROXY: OUR_PROXY,
      SMS_VERIFY_PHONE_LIMIT: String(PER_CLIENT),
      SMS_MAX_ATTEMPTS: String(MAX_ATTEMPTS),
    };
    service = await startTestApp({ env });
    client = new AuthClient(service, fake);
  });
  afterAll(async () => {
    await service.close();
    await fake.stop();
  });

  function verify(phoneNumber: string, code: string, from: string) {
    return client
      .post('/sms/verify-code', { phoneNumber, code, purpose: 'login' })
      .set('X-Forwarded-For', from);
  }

  function login(phoneNumber: string, password: string, from: string) {
    return client.post('/auth/login', { phoneNumber, password }).set('X-Forwarded-For', from);
  }

  /** The code of the number's last SMS, and one that is not it. */
  function lastCode(phoneNumber: string): { code: string; wrong: string } {
    const code = /(\d{6})/.exec(client.messagesTo(phoneNumber).at(-1)!.body)![1];
    return { code, wrong: code === '000000' ? '111111' : '000000' };
  }

  /**
   * `count` wrong login codes for the number, each from the next of `networks`, against live
   * verifications: a stranger asks for a code (it reaches the owner, not them) whenever the last
   * one has used up its attempts. Answers the statuses.
   */
  async function wrongCodes(
    phoneNumber: string,
    count: number,
    networks: () => string,
  ): Promise<number[]> {
    const statuses: number[] = [];
    for (let guess = 0; guess < count; guess += 1) {
      if (guess % MAX_ATTEMPTS === 0) await client.sendCode(phoneNumber, 'login').expect(200);
      statuses.push((await verify(phoneNumber, lastCode(phoneNumber).wrong, networks())).status);
    }
    return statuses;
  }

  async function attemptsCounted(phoneNumber: string): Promise<number> {
    const [row]: { total: string }[] = await service.app
      .get(DataSource)
      .query(
        `SELECT COALESCE(SUM(attempts), 0) AS total FROM sms_verifications WHERE phone_number_hash = $1`,
        [service.app.get(Hasher).hash('phone', phoneNumber)],
      );
    return Number(row.total);
  }

  /** A number with an account: login codes reach only such numbers. */
  async function accountPhone(): Promise<string> {
    const phoneNumber = nextPhone();
    await createUser(service, { phoneNumber, password: PASSWORD });
    return phoneNumber;
  }

  describe('codes', () => {
    it("10 wrong codes from 10 networks, then the owner's right code from another: approved", async () => {
      const owner = await accountPhone();
      const statuses = await wrongCodes(owner, PER_CLIENT, nextNetwork);
      // Two wrong codes answer "pending", the third ends its verification.
      expect(statuses).toEqual([200, 200, 429, 200, 200, 429, 200, 200, 429, 200]);

      const home = nextNetwork();
      const code = await client.code(owner, 'login');
      const approved = await verify(owner, code, home).expect(200);
      expect(approved.body).toMatchObject({ status: 'approved', valid: true });
      // And the login by SMS that follows, from the same network.
      const loginCode = await client.code(owner, 'login');
      await client
        .post('/auth/login-sms', { phoneNumber: owner, code: loginCode })
        .set('X-Forwarded-For', home)
        .expect(200);
    });

    it('one network still gets 429 after SMS_VERIFY_PHONE_LIMIT checks, even with the right code', async () => {
      const owner = await accountPhone();
      const stranger = nextNetwork();
      const statuses = await wrongCodes(owner, PER_CLIENT, () => stranger);
      expect(statuses.filter((status) => status !== 200 && status !== 429)).toEqual([]);

      const code = await client.code(owner, 'login');
      const refused = await verify(owner, code, stranger).expect(429);
      expect(refused.body).toEqual(RATE_LIMITED);
      // The refused check was not compared, so it cost the owner's code none of its attempts.
      expect(await attemptsCounted(owner)).toBe(PER_CLIENT);
      await verify(owner, code, nextNetwork()).expect(200);
    });

    it('checks for a number with no live code spend none of its budgets', async () => {
      const owner = await accountPhone();
      const stranger = nextNetwork();
      for (let check = 0; check < 3 * PER_CLIENT; check += 1) {
        await verify(owner, '123456', stranger).expect(404);
      }
      // Even from the same network, the owner's code is then checked.
      const code = await client.code(owner, 'login');
      await verify(owner, code, stranger).expect(200);
    });

    it('stops guessing spread over many networks at SMS_VERIFY_PHONE_CEILING (default 100)', async () => {
      const owner = await accountPhone();
      // Ten networks, each up to its own limit.
      const networks = Array.from({ length: CEILING / PER_CLIENT }, () => nextNetwork());
      let turn = 0;
      const statuses = await wrongCodes(owner, CEILING, () => networks[turn++ % networks.length]);
      expect(statuses.filter((status) => status !== 200 && status !== 429)).toEqual([]);
      expect(statuses.filter((status) => status === 200)).toHaveLength(
        CEILING - Math.floor(CEILING / MAX_ATTEMPTS),
      );

      // The 101st guess, from a network that has guessed nothing yet, is refused, and answered
      // exactly like a single client's 429.
      await client.sendCode(owner, 'login').expect(200);
      const refused = await verify(owner, lastCode(owner).wrong, nextNetwork()).expect(429);
      expect(refused.body).toEqual(RATE_LIMITED);
      expect(await attemptsCounted(owner)).toBe(CEILING);
    });
  });

  describe('passwords', () => {
    it('10 wrong passwords from 10 networks, then the right one from another: logged in', async () => {
      const owner = nextPhone();
      await createUser(service, { phoneNumber: owner, password: PASSWORD });
      for (let attempt = 0; attempt < PER_CLIENT; attempt += 1) {
        await login(owner, WRONG_PASSWORD, nextNetwork()).expect(401);
      }
      const session = await login(owner, PASSWORD, nextNetwork()).expect(200);
      expect(session.body.accessToken).toEqual(expect.any(String));
    });

    it('one network still gets 429 after AUTH_PASSWORD_ATTEMPTS_LIMIT attempts, even with the right password', async () => {
      const owner = nextPhone();
      await createUser(service, { phoneNumber: owner, password: PASSWORD });
      const stranger = nextNetwork();
      for (let attempt = 0; attempt < PER_CLIENT; attempt += 1) {
        await login(owner, WRONG_PASSWORD, stranger).expect(401);
      }
      const refused = await login(owner, PASSWORD, stranger).expect(429);
      expect(refused.body).toEqual(RATE_LIMITED);
      await login(owner, PASSWORD, nextNetwork()).expect(200);
    });

    it('a right password clears only its own client’s count', async () => {
      const owner = nextPhone();
      await createUser(service, { phoneNumber: owner, password: PASSWORD });
      const [home, stranger] = [nextNetwork(), nextNetwork()];
      for (let attempt = 0; attempt < PER_CLIENT - 1; attempt += 1) {
        await login(owner, WRONG_PASSWORD, home).expect(401);
        await login(owner, WRONG_PASSWORD, stranger).expect(401);
      }
      await login(owner, PASSWORD, home).expect(200);
      await login(owner, WRONG_PASSWORD, home).expect(401);
      await login(owner, WRONG_PASSWORD, stranger).expect(401);
      await login(owner, PASSWORD, stranger).expect(429);
    });

    it('stops guessing spread over many networks at AUTH_PASSWORD_ATTEMPTS_CEILING (default 100); a reset by SMS lifts it', async () => {
      const owner = nextPhone();
      await createUser(service, { phoneNumber: owner, password: PASSWORD });
      const networks = Array.from({ length: CEILING / PER_CLIENT }, () => nextNetwork());
      const statuses: number[] = [];
      for (let attempt = 0; attempt < CEILING; attempt += 1) {
        statuses.push((await login(owner, WRONG_PASSWORD, networks[attempt % 10])).status);
      }
      expect(statuses).toEqual(Array(CEILING).fill(401));

      const refused = await login(owner, PASSWORD, nextNetwork()).expect(429);
      expect(refused.body).toEqual(RATE_LIMITED);

      // The owner sets a new password by SMS: guesses at the old one count no more.
      const newPassword = 'quiet-harbor-lamp-19';
      const code = await client.code(owner, 'password_reset');
      const home = nextNetwork();
      await client
        .post('/auth/reset-password-sms', { phoneNumber: owner, code, newPassword })
        .set('X-Forwarded-For', home)
        .expect(204);
      await login(owner, newPassword, home).expect(200);
    });
  });
});
