import { DataSource } from 'typeorm';
import { Clock } from '../../src/common/clock';
import { Hasher } from '../../src/common/hasher';
import { CodeChecker } from '../../src/sms/code-checker';
import { FakeTwilioServer } from '../fakes/fake-twilio-server';
import { FakeClock } from '../support/fake-clock';
import { TestApp, startTestApp } from '../support/test-app';
import { RELAXED_LIMITS } from '../support/relaxed-limits';
import { TEST_TWILIO } from '../support/twilio-test-credentials';

type Mode = 'twilio-verify' | 'twilio-messaging' | 'console';

let phoneCounter = 0;
/** A fresh Ethiopian mobile number per test, so tests never share a verification. */
function nextPhone(): string {
  phoneCounter += 1;
  return `+2519110${String(phoneCounter).padStart(5, '0')}`;
}

function twilioEnv(mode: Mode, fake: FakeTwilioServer): Record<string, string> {
  if (mode === 'console') return { SMS_PROVIDER: 'console' };
  return {
    SMS_PROVIDER: mode,
    TWILIO_ACCOUNT_SID: TEST_TWILIO.accountSid,
    TWILIO_AUTH_TOKEN: TEST_TWILIO.authToken,
    TWILIO_VERIFY_SERVICE_SID: TEST_TWILIO.verifyServiceSid,
    TWILIO_MESSAGING_SERVICE_SID: TEST_TWILIO.messagingServiceSid,
    TWILIO_API_BASE_URL: fake.url,
    TWILIO_TIMEOUT_MS: '800',
    PUBLIC_BASE_URL: 'https://sms.example.com',
  };
}

describe.each<Mode>(['twilio-verify', 'twilio-messaging', 'console'])(
  'SMS verification over HTTP with the %s provider',
  (mode) => {
    let fake: FakeTwilioServer;
    let service: TestApp;
    let clock: FakeClock;

    beforeAll(async () => {
      clock = new FakeClock();
      fake = await FakeTwilioServer.start({
        accountSid: TEST_TWILIO.accountSid,
        authToken: TEST_TWILIO.authToken,
        now: () => clock.now().getTime(),
      });
      service = await startTestApp({
        skipAccountFilter: true,
        // Amharic is the Ethiopian default; English keeps Verify on its own path in verify mode.
        env: { ...RELAXED_LIMITS, ...twilioEnv(mode, fake), SMS_COUNTRY_LOCALES: 'ET:en' },
        override: (builder) => builder.overrideProvider(Clock).useValue(clock),
      });
    });
    afterAll(async () => {
      await service.close();
      await fake.stop();
    });
    beforeEach(() => fake.reset());

    /** The code the user would read on their phone. */
    function codeSentTo(e164: string): string {
      if (mode === 'twilio-verify') return fake.codeFor(e164)!;
      const body =
        mode === 'twilio-messaging'
          ? fake.lastMessageTo(e164)!.body
          : String(
              [...service.logs]
                .reverse()
                .find((line) => String(line.msg).includes('development SMS'))?.msg,
            );
      const match = /(\d{6})/.exec(body);
      if (!match) throw new Error(`no code in "${body}"`);
      return match[1];
    }

    function providerCalls(): number {
      if (mode === 'console') {
        return service.logs.filter((line) => String(line.msg).includes('development SMS')).length;
      }
      return fake.messages.length + fake.verifications.reduce((sum, item) => sum + item.sends, 0);
    }

    const send = (body: Record<string, unknown>) =>
      service.http().post('/sms/send-verification').send(body);
    const verify = (body: Record<string, unknown>) =>
      service.http().post('/sms/verify-code').send(body);

    it('answers a send with the Twilio Verification resource', async () => {
      const phoneNumber = nextPhone();
      const response = await send({ phoneNumber, purpose: 'registration' }).expect(200);
      expect(response.body).toEqual({
        account_sid: mode === 'console' ? null : TEST_TWILIO.accountSid,
        sid: expect.stringMatching(/^VE[0-9a-f]{32}$/),
        service_sid: mode === 'console' ? null : TEST_TWILIO.verifyServiceSid,
        to: phoneNumber,
        channel: 'sms',
        status: 'pending',
        valid: false,
        // Whole seconds, as Twilio writes them: "2024-01-01T00:00:00Z".
        date_created: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/),
        date_updated: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/),
      });
      expect(Date.parse(response.body.date_created)).toBe(
        Math.floor(clock.now().getTime() / 1000) * 1000,
      );
    });

    it('approves the right code with a verification token, once', async () => {
      const phoneNumber = nextPhone();
      await send({ phoneNumber, purpose: 'login' }).expect(200);
      const code = codeSentTo(phoneNumber);
      const approved = await verify({ phoneNumber, code, purpose: 'login' }).expect(200);
      expect(approved.body).toMatchObject({ status: 'approved', valid: true, to: phoneNumber });
      expect(approved.body.verification_token).toMatch(/^vt_[A-Za-z0-9_-]{40,}$/);

      const again = await verify({ phoneNumber, code, purpose: 'login' }).expect(404);
      expect(again.body).toMatchObject({ success: false, error: 'VERIFICATION_NOT_FOUND' });
    });

    it('answers a wrong code with pending, valid false', async () => {
      const phoneNumber = nextPhone();
      await send({ phoneNumber, purpose: 'login' }).expect(200);
      const wrong = codeSentTo(phoneNumber) === '000000' ? '111111' : '000000';
      const response = await verify({ phoneNumber, code: wrong, purpose: 'login' }).expect(200);
      expect(response.body).toMatchObject({ status: 'pending', valid: false });
      expect(response.body.verification_token).toBeUndefined();
    });

    it('answers 404 when nothing was sent, and for another purpose', async () => {
      const phoneNumber = nextPhone();
      await verify({ phoneNumber, code: '123456', purpose: 'login' }).expect(404);
      await send({ phoneNumber, purpose: 'login' }).expect(200);
      const code = codeSentTo(phoneNumber);
      await verify({ phoneNumber, code, purpose: 'password_reset' }).expect(404);
    });

    it('treats every spelling of a number as one key', async () => {
      const first = await send({ phoneNumber: '+251 91 177 0001', purpose: 'registration' }).expect(
        200,
      );
      const second = await send({
        phoneNumber: '091-177-0001',
        countryCode: 'ET',
        purpose: 'registration',
      }).expect(200);
      const third = await send({ phoneNumber: '00251911770001', purpose: 'registration' }).expect(
        200,
      );
      expect(second.body.sid).toBe(first.body.sid);
      expect(third.body.sid).toBe(first.body.sid);
      expect(third.body.to).toBe('+251911770001');
    });

    it('kills the verification after max attempts with 429', async () => {
      const phoneNumber = nextPhone();
      await send({ phoneNumber, purpose: 'two_factor' }).expect(200);
      const code = codeSentTo(phoneNumber);
      const wrong = code === '000000' ? '111111' : '000000';
      await verify({ phoneNumber, code: wrong, purpose: 'two_factor' }).expect(200);
      await verify({ phoneNumber, code: wrong, purpose: 'two_factor' }).expect(200);
      const third = await verify({ phoneNumber, code: wrong, purpose: 'two_factor' }).expect(429);
      expect(third.body).toMatchObject({ success: false, error: 'VERIFICATION_ATTEMPTS_EXCEEDED' });
      expect(third.headers['retry-after']).toBeDefined();
      await verify({ phoneNumber, code, purpose: 'two_factor' }).expect(404);
    });

    it('keeps the attempt budget across a resend', async () => {
      const phoneNumber = nextPhone();
      await send({ phoneNumber, purpose: 'login' }).expect(200);
      await verify({ phoneNumber, code: '000001', purpose: 'login' }).expect(200);
      await verify({ phoneNumber, code: '000002', purpose: 'login' }).expect(200);
      await send({ phoneNumber, purpose: 'login' }).expect(200);
      await verify({ phoneNumber, code: '000003', purpose: 'login' }).expect(429);
    });

    it('accepts the code of the latest send', async () => {
      const phoneNumber = nextPhone();
      const before = providerCalls();
      await send({ phoneNumber, purpose: 'login' }).expect(200);
      await send({ phoneNumber, purpose: 'login' }).expect(200);
      const code = codeSentTo(phoneNumber);
      await verify({ phoneNumber, code, purpose: 'login' }).expect(200);
      expect(providerCalls() - before).toBe(2);
    });

    it('refuses more sends per verification than configured, with Retry-After', async () => {
      const phoneNumber = nextPhone();
      for (let index = 0; index < 5; index += 1) {
        await send({ phoneNumber, purpose: 'registration' }).expect(200);
      }
      const refused = await send({ phoneNumber, purpose: 'registration' }).expect(429);
      expect(refused.body).toMatchObject({ error: 'VERIFICATION_SEND_LIMIT' });
      expect(Number(refused.headers['retry-after'])).toBeGreaterThan(0);
      expect(refused.body.retryAfter).toBe(Number(refused.headers['retry-after']));
    });

    it('expires codes per purpose (login: 5 minutes) and starts anew after', async () => {
      const phoneNumber = nextPhone();
      const first = await send({ phoneNumber, purpose: 'login' }).expect(200);
      const code = codeSentTo(phoneNumber);
      clock.advance(5 * 60_000 + 1_000);
      await verify({ phoneNumber, code, purpose: 'login' }).expect(404);
      await send({ phoneNumber, purpose: 'login' }).expect(200);
      const rows = await service.app
        .get(DataSource)
        .query(
          `SELECT status, twilio_sid FROM sms_verifications WHERE phone_number_hash = $1 ORDER BY created_at`,
          [service.app.get(Hasher).hash('phone', phoneNumber)],
        );
      expect(rows.slice(-2).map((row: { status: string }) => row.status)).toEqual([
        'expired',
        'pending',
      ]);
      // Twilio Verify keeps its own verification for its 10-minute lifetime and re-sends it;
      // codes we make are new.
      if (mode !== 'twilio-verify') expect(rows.at(-1).twilio_sid).not.toBe(first.body.sid);
    });

    it('keeps registration codes alive for 10 minutes', async () => {
      const phoneNumber = nextPhone();
      await send({ phoneNumber, purpose: 'registration' }).expect(200);
      const code = codeSentTo(phoneNumber);
      clock.advance(9 * 60_000);
      await verify({ phoneNumber, code, purpose: 'registration' }).expect(200);
    });

    it('counts at most max_attempts of 50 concurrent wrong guesses', async () => {
      const phoneNumber = nextPhone();
      await send({ phoneNumber, purpose: 'login' }).expect(200);
      const code = codeSentTo(phoneNumber);
      const wrong = code === '000000' ? '111111' : '000000';
      const responses = await Promise.all(
        Array.from({ length: 50 }, () => verify({ phoneNumber, code: wrong, purpose: 'login' })),
      );
      const statuses = responses.map((response) => response.status);
      expect(statuses.filter((status) => status === 200).length).toBeLessThanOrEqual(2);
      expect(statuses.every((status) => status === 200 || status === 429 || status === 404)).toBe(
        true,
      );
      const [row] = await service.app
        .get(DataSource)
        .query(
          `SELECT attempts, max_attempts, status FROM sms_verifications WHERE phone_number_hash = $1`,
          [service.app.get(Hasher).hash('phone', phoneNumber)],
        );
      expect(row.attempts).toBe(row.max_attempts);
      expect(row.status).toBe('failed');
      await verify({ phoneNumber, code, purpose: 'login' }).expect(404);
    });

    it('approves exactly one of 20 concurrent right guesses', async () => {
      const phoneNumber = nextPhone();
      await send({ phoneNumber, purpose: 'login' }).expect(200);
      const code = codeSentTo(phoneNumber);
      const responses = await Promise.all(
        Array.from({ length: 20 }, () => verify({ phoneNumber, code, purpose: 'login' })),
      );
      const approved = responses.filter((response) => response.body.status === 'approved');
      expect(approved).toHaveLength(1);
      expect(responses.every((response) => [200, 404, 429].includes(response.status))).toBe(true);
    });

    it('counts one attempt each for concurrent checks of many numbers, right and wrong mixed', async () => {
      const phones = Array.from({ length: 12 }, () => nextPhone());
      const codes: string[] = [];
      for (const phoneNumber of phones) {
        await send({ phoneNumber, purpose: 'login' }).expect(200);
        codes.push(codeSentTo(phoneNumber));
      }
      const responses = await Promise.all(
        phones.map((phoneNumber, index) => {
          const right = index % 3 === 0;
          const code = right ? codes[index] : codes[index] === '000000' ? '111111' : '000000';
          return verify({ phoneNumber, code, purpose: 'login' });
        }),
      );
      expect(responses.map((response) => [response.status, response.body.status])).toEqual(
        phones.map((_phone, index) => [200, index % 3 === 0 ? 'approved' : 'pending']),
      );
      const hasher = service.app.get(Hasher);
      const rows: { phone_number_hash: string; attempts: number; status: string }[] =
        await service.app
          .get(DataSource)
          .query(
            `SELECT phone_number_hash, attempts, status FROM sms_verifications WHERE phone_number_hash = ANY($1)`,
            [phones.map((phoneNumber) => hasher.hash('phone', phoneNumber))],
          );
      const byHash = new Map(rows.map((row) => [row.phone_number_hash, row]));
      phones.forEach((phoneNumber, index) => {
        const row = byHash.get(hasher.hash('phone', phoneNumber))!;
        expect([row.attempts, row.status]).toEqual([1, index % 3 === 0 ? 'verified' : 'pending']);
      });
    });

    it('spends a verification token once, only for its phone and purpose', async () => {
      const phoneNumber = nextPhone();
      await send({ phoneNumber, purpose: 'login' }).expect(200);
      const approved = await verify({
        phoneNumber,
        code: codeSentTo(phoneNumber),
        purpose: 'login',
      });
      const token = approved.body.verification_token as string;
      const verifications = service.app.get(CodeChecker);
      expect(await verifications.consumeToken(token, phoneNumber, 'registration')).toBe(false);
      expect(await verifications.consumeToken(token, nextPhone(), 'login')).toBe(false);
      const attempts = await Promise.all(
        Array.from({ length: 10 }, () => verifications.consumeToken(token, phoneNumber, 'login')),
      );
      expect(attempts.filter(Boolean)).toHaveLength(1);
    });

    it('accepts and ignores twilioConfig from the client', async () => {
      const phoneNumber = nextPhone();
      const response = await send({
        phoneNumber,
        purpose: 'registration',
        twilioConfig: {
          accountSid: 'ACffffffffffffffffffffffffffffffff',
          authToken: 'attacker-token-value',
          serviceSid: 'VAffffffffffffffffffffffffffffffff',
        },
      }).expect(200);
      expect(response.body.account_sid).toBe(mode === 'console' ? null : TEST_TWILIO.accountSid);
      if (mode !== 'console') {
        expect(fake.requests.every((request) => !request.path.includes('ffffffffffff'))).toBe(true);
      }
      expect(JSON.stringify(service.logs)).not.toContain('attacker-token-value');
    });

    it('rejects unknown fields and bad codes with 400 in the envelope', async () => {
      const unknown = await send({
        phoneNumber: nextPhone(),
        purpose: 'login',
        admin: true,
      }).expect(400);
      expect(unknown.body).toMatchObject({ success: false, error: 'VALIDATION_FAILED' });
      expect(unknown.body.message).toContain('admin');
      const badPurpose = await send({ phoneNumber: nextPhone(), purpose: 'spam' }).expect(400);
      expect(badPurpose.body.message).toContain('purpose');
      const letters = await verify({
        phoneNumber: nextPhone(),
        code: '12ab56',
        purpose: 'login',
      }).expect(400);
      expect(letters.body.message).toContain('code must be 4 to 10 digits');
      await verify({ phoneNumber: nextPhone(), code: ['123456'], purpose: 'login' }).expect(400);
    });

    it('refuses landlines and unsupported countries before any provider call', async () => {
      const before = providerCalls();
      const landline = await send({ phoneNumber: '+251111234567', purpose: 'login' }).expect(400);
      expect(landline.body.error).toBe('PHONE_TYPE_NOT_ALLOWED');
      const france = await send({ phoneNumber: '+33612345678', purpose: 'login' }).expect(400);
      expect(france.body.error).toBe('PHONE_COUNTRY_NOT_SUPPORTED');
      expect(providerCalls()).toBe(before);
    });

    it('never writes a phone number, code or token to the log', async () => {
      const phoneNumber = nextPhone();
      await send({ phoneNumber, purpose: 'login' }).expect(200);
      const code = codeSentTo(phoneNumber);
      const approved = await verify({ phoneNumber, code, purpose: 'login' }).expect(200);
      const logs = JSON.stringify(service.logs);
      expect(logs).not.toContain(phoneNumber.slice(1));
      expect(logs).not.toContain(approved.body.verification_token);
      expect(logs).not.toContain(TEST_TWILIO.authToken);
      if (mode !== 'console') expect(logs).not.toContain(code);
    });
  },
);
