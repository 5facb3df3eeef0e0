import supertest from 'supertest';
import { Purpose } from '../../src/common/purpose';
import { createUser } from '../factories/user.factory';
import { FakeTwilioServer } from '../fakes/fake-twilio-server';
import { AuthClient, authTestEnvironment, authVerifyTestEnvironment } from '../support/auth-client';
import { startFakeTwilio } from '../support/fake-twilio-app';
import { RELAXED_LIMITS } from '../support/relaxed-limits';
import { TestApp, startTestApp } from '../support/test-app';
import { REQUEST_TIMEOUT_MS, headerNames, median, shapeOf } from './support/http';
import { SecretLedger, findLeaks } from './support/leak-scan';

type Mode = 'twilio-messaging' | 'twilio-verify';

/** The fake Twilio's answer time: the gap a suppressed send would show if it did not wait. */
const PROVIDER_LATENCY_MS = 24;
/** Per group and endpoint. Verify's gap is a whole round trip, so fewer samples show it. */
const SAMPLES: Record<Mode, number> = { 'twilio-messaging': 30, 'twilio-verify': 20 };
/**
 * Medians of interleaved samples may differ by half the provider latency: wide enough for a busy
 * CI machine, narrow enough that skipping (or adding) one provider round trip always shows.
 */
const TIMING_TOLERANCE_MS = PROVIDER_LATENCY_MS / 2;
const WRONG_PASSWORD = 'not-the-password-of-anyone-77';

interface Observation {
  status: number;
  shape: Record<string, string>;
  headerNames: string[];
  elapsedMs: number;
}

interface Comparison {
  known: Observation[];
  unknown: Observation[];
}

/** Which auth endpoint spends a proof of each purpose, and the rest of its body. */
const AUTH_ENDPOINT: Partial<Record<Purpose, { path: string; extra: Record<string, string> }>> = {
  registration: { path: '/auth/register', extra: { password: 'quiet-harbor-lamp-19' } },
  login: { path: '/auth/login-sms', extra: {} },
  password_reset: {
    path: '/auth/reset-password-sms',
    extra: { newPassword: 'quiet-harbor-lamp-19' },
  },
};
const PURPOSES: Purpose[] = ['registration', 'login', 'password_reset', 'two_factor'];

function modeEnvironment(mode: Mode, fake: FakeTwilioServer): Record<string, string> {
  return mode === 'twilio-messaging' ? authTestEnvironment(fake) : authVerifyTestEnvironment(fake);
}

/**
 * No account enumeration (docs/SECURITY.md rule 7): every SMS and auth endpoint answers a number
 * with an account exactly like one without: status, body shape, header names and, within a
 * tolerance, time. Known and unknown numbers are sampled alternately so that load on the machine
 * hits both groups alike.
 */
describe.each<Mode>(['twilio-messaging', 'twilio-verify'])(
  'No account enumeration (%s)',
  (mode) => {
    let fake: FakeTwilioServer;
    let service: TestApp;
    let client: AuthClient;
    const ledger = new SecretLedger();
    let counter = 0;
    const prefix = mode === 'twilio-messaging' ? '2519160' : '2519161';
    const nextPhone = () => ledger.phone(`+${prefix}${String((counter += 1)).padStart(5, '0')}`);
    const timesSends = mode === 'twilio-messaging';

    /** Numbers with a verified account and numbers with none, fresh for each use. */
    async function numbers(count: number): Promise<{ known: string[]; unknown: string[] }> {
      const known = Array.from({ length: count }, nextPhone);
      const unknown = Array.from({ length: count }, nextPhone);
      for (const phoneNumber of known) await createUser(service, { phoneNumber });
      return { known, unknown };
    }

    beforeAll(async () => {
      fake = await startFakeTwilio({ latencyMs: PROVIDER_LATENCY_MS });
      service = await startTestApp({
        env: {
          ...RELAXED_LIMITS,
          ...modeEnvironment(mode, fake),
          // Cooldowns on: a 429 only for numbers with an account would be a side channel too.
          SMS_RESEND_COOLDOWNS: '60',
          SMS_COUNTRY_LOCALES: 'ET:en',
        },
      });
      client = new AuthClient(service, fake);
      // The service imitates the provider's latency as it has measured it: warm the estimate up
      // as production traffic would (see the todo at the end about a cold instance).
      const { known } = await numbers(12);
      for (const phoneNumber of known) await client.sendCode(phoneNumber, 'login').expect(200);
    }, 60_000);
    afterAll(async () => {
      await service?.close();
      await fake?.stop();
    });

    async function observe(request: supertest.Test): Promise<Observation> {
      const started = performance.now();
      const response = await request.timeout(REQUEST_TIMEOUT_MS);
      const elapsedMs = performance.now() - started;
      ledger.absorb(response.body);
      return {
        status: response.status,
        shape: shapeOf(response.body),
        headerNames: headerNames(response),
        elapsedMs,
      };
    }

    async function compare(
      groups: { known: string[]; unknown: string[] },
      request: (phoneNumber: string) => supertest.Test,
    ): Promise<Comparison> {
      const comparison: Comparison = { known: [], unknown: [] };
      for (let index = 0; index < groups.known.length; index += 1) {
        comparison.known.push(await observe(request(groups.known[index])));
        comparison.unknown.push(await observe(request(groups.unknown[index])));
      }
      return comparison;
    }

    function expectSameAnswers({ known, unknown }: Comparison, expectedStatus: number): void {
      const reference = known[0];
      expect(reference.status).toBe(expectedStatus);
      const differing = [...known, ...unknown].filter(
        (observation) =>
          JSON.stringify([observation.status, observation.shape, observation.headerNames]) !==
          JSON.stringify([reference.status, reference.shape, reference.headerNames]),
      );
      expect(differing).toEqual([]);
    }

    function expectSimilarTiming({ known, unknown }: Comparison): void {
      const withAccount = median(known.map((observation) => observation.elapsedMs));
      const withoutAccount = median(unknown.map((observation) => observation.elapsedMs));
      console.log(
        mode,
        expect.getState().currentTestName,
        withAccount.toFixed(1),
        withoutAccount.toFixed(1),
      );
      const gap = Math.abs(withAccount - withoutAccount);
      if (gap > TIMING_TOLERANCE_MS) {
        throw new Error(
          `median ${withAccount.toFixed(1)} ms with an account vs ${withoutAccount.toFixed(1)} ms ` +
            `without: a gap of ${gap.toFixed(1)} ms, more than ${TIMING_TOLERANCE_MS} ms`,
        );
      }
    }

    const send = (phoneNumber: string, purpose: Purpose) => client.sendCode(phoneNumber, purpose);
    const verifyWrong = (phoneNumber: string, purpose: Purpose) =>
      client.post('/sms/verify-code', { phoneNumber, code: '000000', purpose });

    describe.each(PURPOSES)('purpose %s', (purpose) => {
      const observed: Record<string, Comparison> = {};
      let groups: { known: string[]; unknown: string[] };

      beforeAll(async () => {
        groups = await numbers(SAMPLES[mode]);
        // Sends are timed in the Messaging suite; in the Verify suite they run at full speed and
        // only the code checks, where Verify takes its own path, are timed.
        fake.latencyMs = timesSends ? PROVIDER_LATENCY_MS : 0;
        observed.send = await compare(groups, (phoneNumber) => send(phoneNumber, purpose));
        fake.latencyMs = PROVIDER_LATENCY_MS;
        observed.verify = await compare(groups, (phoneNumber) => verifyWrong(phoneNumber, purpose));
        const endpoint = AUTH_ENDPOINT[purpose];
        if (endpoint) {
          observed.auth = await compare(groups, (phoneNumber) =>
            client.post(endpoint.path, { phoneNumber, code: '000001', ...endpoint.extra }),
          );
        }
      }, 60_000);

      it('send-verification answers alike, and suppressed sends wait like real ones', () => {
        expectSameAnswers(observed.send, 200);
        expect(observed.send.known[0].shape).toEqual({
          account_sid: 'string',
          sid: 'string',
          service_sid: 'string',
          to: 'string',
          channel: 'string',
          status: 'string',
          valid: 'boolean',
          date_created: 'string',
          date_updated: 'string',
        });
        if (!timesSends) return;
        expectSimilarTiming(observed.send);
        const suppressed = purpose === 'registration' ? observed.send.known : observed.send.unknown;
        expect(median(suppressed.map((observation) => observation.elapsedMs))).toBeGreaterThan(
          PROVIDER_LATENCY_MS * 0.6,
        );
      });

      // Fails today in the Verify suite: a number with an account has its code checked by Twilio
      // (one round trip), a number without one against a local hash of a code nobody received
      // (CodeChecker.compare), so a wrong guess comes back a provider round trip faster
      // for a number with no account. The same holds for the auth endpoints below.
      it('verify-code with a wrong code answers alike', () => {
        expectSameAnswers(observed.verify, 200);
        expectSimilarTiming(observed.verify);
      });

      if (AUTH_ENDPOINT[purpose]) {
        it(`${AUTH_ENDPOINT[purpose]!.path} with a wrong code answers alike`, () => {
          expectSameAnswers(observed.auth, 401);
          expectSimilarTiming(observed.auth);
        });
      }

      it('a resend inside the cooldown is refused alike', async () => {
        const again = await compare(
          { known: groups.known.slice(0, 3), unknown: groups.unknown.slice(0, 3) },
          (phoneNumber) => send(phoneNumber, purpose),
        );
        expectSameAnswers(again, 429);
      });
    });

    describe('password login', () => {
      it('answers a wrong password alike, in similar time', async () => {
        const groups = await numbers(SAMPLES[mode]);
        const answers = await compare(groups, (phoneNumber) =>
          client.post('/auth/login', { phoneNumber, password: WRONG_PASSWORD }),
        );
        expectSameAnswers(answers, 401);
        expectSimilarTiming(answers);
      }, 30_000);

      it('runs out of password attempts alike (AUTH_PASSWORD_ATTEMPTS_LIMIT)', async () => {
        const groups = await numbers(1);
        const rounds: Comparison[] = [];
        for (let attempt = 0; attempt <= 10; attempt += 1) {
          rounds.push(
            await compare(groups, (phoneNumber) =>
              client.post('/auth/login', { phoneNumber, password: WRONG_PASSWORD }),
            ),
          );
        }
        for (const round of rounds.slice(0, 10)) expectSameAnswers(round, 401);
        expectSameAnswers(rounds[10], 429);
      }, 30_000);
    });

    it('leaves no number, code, token or secret in logs, database rows or Redis keys', async () => {
      ledger.harvest(fake);
      expect(await findLeaks(service, ledger)).toEqual([]);
    }, 30_000);
  },
);

describe('No account enumeration on a freshly started instance', () => {
  it.todo(
    'suppressed sends wait like real ones from the first request on: today the imitated delay is ' +
      'a moving average of measured provider latency that starts at 0 ms and reaches 89% of it ' +
      'only after about 10 real sends, so right after a (re)start a send for a number that gets ' +
      'no SMS answers about one provider round trip sooner (ProviderTiming)',
  );
});
