import supertest from 'supertest';
import { Purpose } from '../../src/common/purpose';
import { createUser } from '../factories/user.factory';
import { FakeTwilioServer } from '../fakes/fake-twilio-server';
import { AuthClient, authTestEnvironment } from '../support/auth-client';
import { RELAXED_LIMITS } from '../support/relaxed-limits';
import { TestApp, startTestApp } from '../support/test-app';
import { TEST_TWILIO } from '../support/twilio-test-credentials';

/** Twilio's answer time in this suite: suppressed sends must take about as long. */
const PROVIDER_LATENCY_MS = 50;

let phoneCounter = 0;
function nextPhone(): string {
  phoneCounter += 1;
  return `+2519140${String(phoneCounter).padStart(5, '0')}`;
}

/** What a client can compare between two answers: status, body shape, header names, time. */
interface Observation {
  status: number;
  shape: Record<string, string>;
  headerNames: string[];
  elapsedMs: number;
}

/** The body's keys and the type of each value. */
function shapeOf(body: Record<string, unknown>): Record<string, string> {
  return Object.fromEntries(
    Object.entries(body).map(([key, value]) => [key, value === null ? 'null' : typeof value]),
  );
}

function median(values: number[]): number {
  const sorted = [...values].sort((left, right) => left - right);
  return sorted[Math.floor(sorted.length / 2)];
}

describe('No account enumeration through send-verification (docs/SECURITY.md rule 7)', () => {
  let fake: FakeTwilioServer;
  let service: TestApp;
  let client: AuthClient;
  const withAccounts: string[] = [];
  const withoutAccounts: string[] = [];

  beforeAll(async () => {
    fake = await FakeTwilioServer.start({
      accountSid: TEST_TWILIO.accountSid,
      authToken: TEST_TWILIO.authToken,
      latencyMs: PROVIDER_LATENCY_MS,
    });
    service = await startTestApp({ env: { ...RELAXED_LIMITS, ...authTestEnvironment(fake) } });
    client = new AuthClient(service, fake);
    for (let index = 0; index < 50; index += 1) {
      const phoneNumber = nextPhone();
      await createUser(service, { phoneNumber });
      withAccounts.push(phoneNumber);
      withoutAccounts.push(nextPhone());
    }
    // Warm the service's estimate of Twilio's latency, as production traffic would.
    const warmUp = Array.from({ length: 12 }, () => nextPhone());
    for (const phoneNumber of warmUp) await createUser(service, { phoneNumber });
    for (const phoneNumber of warmUp) await client.sendCode(phoneNumber, 'login').expect(200);
  }, 120_000);
  afterAll(async () => {
    await service.close();
    await fake.stop();
  });
  beforeEach(() => fake.reset());

  async function observe(phoneNumber: string, purpose: Purpose): Promise<Observation> {
    const started = performance.now();
    const response: supertest.Response = await client.sendCode(phoneNumber, purpose);
    return {
      status: response.status,
      shape: shapeOf(response.body),
      headerNames: Object.keys(response.headers).sort(),
      elapsedMs: performance.now() - started,
    };
  }

  /** One send per number, alternating between the two groups so drift hits both alike. */
  async function observeBoth(
    purpose: Purpose,
  ): Promise<{ known: Observation[]; unknown: Observation[] }> {
    const known: Observation[] = [];
    const unknown: Observation[] = [];
    for (let index = 0; index < withAccounts.length; index += 1) {
      known.push(await observe(withAccounts[index], purpose));
      unknown.push(await observe(withoutAccounts[index], purpose));
    }
    return { known, unknown };
  }

  function expectIndistinguishable(known: Observation[], unknown: Observation[]): void {
    const reference = known[0];
    expect(reference.status).toBe(200);
    for (const observation of [...known, ...unknown]) {
      expect({
        status: observation.status,
        shape: observation.shape,
        headerNames: observation.headerNames,
      }).toEqual({
        status: reference.status,
        shape: reference.shape,
        headerNames: reference.headerNames,
      });
    }
    expect(reference.shape).toEqual({
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
  }

  /**
   * Suppressed sends wait out the provider's usual latency. Medians with a wide margin: the point
   * is that "no account" is not answered in a fraction of the time, not a precise benchmark.
   */
  function expectSimilarTiming(delivered: Observation[], suppressed: Observation[]): void {
    const deliveredMedian = median(delivered.map((observation) => observation.elapsedMs));
    const suppressedMedian = median(suppressed.map((observation) => observation.elapsedMs));
    expect(suppressedMedian).toBeGreaterThanOrEqual(PROVIDER_LATENCY_MS * 0.6);
    expect(suppressedMedian).toBeGreaterThanOrEqual(deliveredMedian * 0.5);
    expect(suppressedMedian).toBeLessThanOrEqual(deliveredMedian * 2);
  }

  it.each<Purpose>(['login', 'password_reset'])(
    'answers %s sends to 50 numbers with and 50 without an account alike, and texts only the accounts',
    async (purpose) => {
      const { known, unknown } = await observeBoth(purpose);
      expectIndistinguishable(known, unknown);
      expectSimilarTiming(known, unknown);
      const recipients = fake.messages.map((message) => message.to).sort();
      expect(recipients).toEqual([...withAccounts].sort());
    },
    60_000,
  );

  it('answers registration sends alike, and texts only the numbers without an account', async () => {
    const { known, unknown } = await observeBoth('registration');
    expectIndistinguishable(known, unknown);
    expectSimilarTiming(unknown, known);
    const recipients = fake.messages.map((message) => message.to).sort();
    expect(recipients).toEqual([...withoutAccounts].sort());
  }, 60_000);

  it('answers verify-code alike for a suppressed code and a delivered one', async () => {
    const known = withAccounts[0];
    const unknown = withoutAccounts[0];
    await client.sendCode(known, 'two_factor').expect(200);
    await client.sendCode(unknown, 'two_factor').expect(200);
    const answers = await Promise.all(
      [known, unknown].map((phoneNumber) =>
        client.post('/sms/verify-code', { phoneNumber, code: '000000', purpose: 'two_factor' }),
      ),
    );
    // A guess is almost surely wrong for both; either way the answers have one shape.
    expect(answers.map((answer) => answer.status)).toEqual([200, 200]);
    expect(shapeOf(answers[0].body)).toEqual(shapeOf(answers[1].body));
    const logins = await Promise.all(
      [known, unknown].map((phoneNumber) =>
        client.post('/auth/login-sms', { phoneNumber, code: '000001' }),
      ),
    );
    expect(logins.map((login) => [login.status, login.body])).toEqual([
      [401, { success: false, message: 'Invalid or expired code.', error: 'INVALID_CODE' }],
      [401, { success: false, message: 'Invalid or expired code.', error: 'INVALID_CODE' }],
    ]);
  });
});
