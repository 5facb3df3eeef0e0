import { isDeepStrictEqual } from 'node:util';
import supertest from 'supertest';
import { Clock } from '../../../src/common/clock';
import { FakeTwilioServer } from '../../fakes/fake-twilio-server';
import { AuthClient, authTestEnvironment } from '../../support/auth-client';
import { startFakeTwilio } from '../../support/fake-twilio-app';
import { FakeClock } from '../../support/fake-clock';
import { RELAXED_LIMITS } from '../../support/relaxed-limits';
import { TestApp, startTestApp } from '../../support/test-app';
import { answerOf, delivered, sendFrom } from '../support/send-answers';
import { WebhookReceiver } from '../../support/webhook-receiver';
import { REQUEST_TIMEOUT_MS, median } from '../support/http';

/**
 * Issue 14 item 4: a pumping hold cannot be turned against real users. Before, fifty unverified
 * registration sends held the whole country and every user's login code was refused (503). Now a
 * hold starts at the number range, widens to the country only for traffic from many ranges and
 * many networks, spares every number that verified before, and answers everyone else exactly like
 * a real send that delivers nothing.
 *
 * The attack comes from outside, through a proxy we trust, from many client addresses.
 */

const ADMIN_API_KEY = 'pumping-operator-key-0123456789abcdef0123';
const operator = { Authorization: `Bearer ${ADMIN_API_KEY}` };
const PASSWORD = 'lantern-mosaic-47';
const HOUR_MS = 3_600_000;
/** The fake Twilio's answer time: what a held send must imitate. */
const PROVIDER_LATENCY_MS = 40;
/** As test/security/enumeration.e2e-spec.ts: half a provider round trip. */
const TIMING_TOLERANCE_MS = PROVIDER_LATENCY_MS / 2;
const TIMING_SAMPLES = 20;
/** Thresholds low enough for a test, in the proportions of the defaults. */
const MIN_SENDS = 10;
const COUNTRY_MIN_RANGES = 4;
const COUNTRY_MIN_NETWORKS = 4;

/** A number in range `range` (E.164 minus its last 4 digits), e.g. inRange('+25191123', 7). */
const inRange = (range: string, suffix: number) => `${range}${String(suffix).padStart(4, '0')}`;

let rangeCounter = 0;
/** A fresh Ethiopian mobile range per call: +25193NNN, ten thousand numbers. */
function nextRange(): string {
  rangeCounter += 1;
  return `+2519${3000 + rangeCounter}`;
}

/** A /24 of its own per call (198.18.0.0/15 and up: benchmarking space, never a real client). */
let networkCounter = 0;
function nextNetworkAddress(): string {
  networkCounter += 1;
  return `198.${18 + Math.floor(networkCounter / 250)}.${networkCounter % 250}.7`;
}

async function startService(
  fake: FakeTwilioServer,
  clock: FakeClock,
  env: Record<string, string> = {},
): Promise<TestApp> {
  return startTestApp({
    env: {
      ...RELAXED_LIMITS,
      ...authTestEnvironment(fake),
      SMS_PUMPING_MODE: 'enforce',
      SMS_PUMPING_MIN_SENDS: String(MIN_SENDS),
      SMS_PUMPING_MIN_CONVERSION: '0.2',
      SMS_PUMPING_COUNTRY_MIN_RANGES: String(COUNTRY_MIN_RANGES),
      SMS_PUMPING_COUNTRY_MIN_NETWORKS: String(COUNTRY_MIN_NETWORKS),
      SMS_COUNTRY_LOCALES: 'ET:en',
      TRUST_PROXY: '127.0.0.1,::1',
      ADMIN_API_KEY,
      // Evaluated when a hold starts, not by the timer.
      ALERT_EVALUATION_INTERVAL_MS: '86400000',
      ...env,
    },
    override: (builder) => builder.overrideProvider(Clock).useValue(clock),
  });
}

async function holdsOf(service: TestApp) {
  const response = await service.http().get('/admin/sms/holds').set(operator).expect(200);
  return response.body.holds as Record<string, unknown>[];
}

interface Observation {
  answer: ReturnType<typeof answerOf>;
  elapsedMs: number;
}

async function observe(request: supertest.Test): Promise<Observation> {
  const started = performance.now();
  const response = await request.timeout(REQUEST_TIMEOUT_MS);
  return { answer: answerOf(response), elapsedMs: performance.now() - started };
}

describe('A pumping hold cannot be turned against real users', () => {
  let fake: FakeTwilioServer;
  let receiver: WebhookReceiver;
  let service: TestApp;
  let client: AuthClient;
  const clock = new FakeClock(Date.UTC(2026, 10, 24, 8));
  /** Numbers that verified a code before the attack, with no account. */
  let vouched: string[] = [];

  beforeAll(async () => {
    fake = await startFakeTwilio({ latencyMs: PROVIDER_LATENCY_MS });
    receiver = await WebhookReceiver.start();
    service = await startService(fake, clock, { ALERT_WEBHOOK_URL: receiver.url });
    client = new AuthClient(service, fake);
  });
  afterAll(async () => {
    await service?.close();
    await fake?.stop();
    await receiver?.stop();
  });

  it('a user registers, an attack trips every hold it can, and only strangers go without', async () => {
    // A user registers through the API, from their own address.
    const userRange = nextRange();
    const user = inRange(userRange, 1);
    const userAddress = '203.0.113.10';
    const registrationCode = await client.code(user, 'registration');
    await client
      .post('/auth/register', { phoneNumber: user, password: PASSWORD, code: registrationCode })
      .set('X-Forwarded-For', userAddress)
      .expect(200);
    // Numbers that verified a code (no account) before the attack, in ranges of their own.
    vouched = Array.from({ length: TIMING_SAMPLES }, () => inRange(nextRange(), 1));
    for (const phoneNumber of vouched) await client.verificationToken(phoneNumber, 'registration');
    // The attack starts later: these sends are out of the pumping window, not out of the history.
    clock.advance(2 * HOUR_MS);

    // Unverified sends to the user's range, each from a network of its own: the range is held.
    const attacked: string[] = [];
    for (let suffix = 100; suffix < 100 + MIN_SENDS + 2; suffix += 1) {
      const phoneNumber = inRange(userRange, suffix);
      attacked.push(phoneNumber);
      await sendFrom(service, nextNetworkAddress(), phoneNumber, 'registration').expect(200);
    }
    // Then one number in each of many ranges, from a few networks each: the country is held.
    const spread = Array.from({ length: MIN_SENDS + 2 }, () => inRange(nextRange(), 2));
    const attackNetworks = Array.from({ length: COUNTRY_MIN_NETWORKS + 2 }, nextNetworkAddress);
    for (const [index, phoneNumber] of spread.entries()) {
      const address = attackNetworks[index % attackNetworks.length];
      await sendFrom(service, address, phoneNumber, 'registration').expect(200);
    }
    // The sends after each hold started delivered nothing.
    expect(attacked.map((phoneNumber) => delivered(fake, phoneNumber))).toEqual([
      ...Array(MIN_SENDS).fill(1),
      0,
      0,
    ]);
    expect(spread.map((phoneNumber) => delivered(fake, phoneNumber))).toEqual([
      ...Array(MIN_SENDS).fill(1),
      0,
      0,
    ]);
    const holds = await holdsOf(service);
    expect(holds).toEqual(
      expect.arrayContaining([
        expect.objectContaining({
          scope: 'prefix',
          label: `${userRange}····`,
          mode: 'enforced',
          sends: MIN_SENDS,
          verified: 0,
          ranges: null,
          networks: null,
        }),
        expect.objectContaining({
          scope: 'country',
          label: 'ET',
          mode: 'enforced',
          sends: MIN_SENDS,
          verified: 0,
          ranges: MIN_SENDS,
          networks: attackNetworks.length,
        }),
      ]),
    );
    expect(holds).toHaveLength(2);

    // The user's login code is delivered, and works.
    const before = delivered(fake, user);
    const userAnswer = await sendFrom(service, userAddress, user, 'login').expect(200);
    expect(delivered(fake, user)).toBe(before + 1);
    const loginCode = /(\d{6})/.exec(fake.lastMessageTo(user)!.body)![1];
    await client
      .post('/auth/login-sms', { phoneNumber: user, code: loginCode })
      .set('X-Forwarded-For', userAddress)
      .expect(200);

    // A stranger in the user's range is answered exactly like the user, and gets nothing.
    const stranger = inRange(userRange, 9_999);
    const strangerAnswer = await sendFrom(service, '203.0.113.11', stranger, 'registration');
    expect(answerOf(strangerAnswer)).toEqual(answerOf(userAnswer));
    expect(answerOf(userAnswer).formats).toEqual({
      account_sid: true,
      sid: true,
      service_sid: true,
      to: true,
      date_created: true,
      date_updated: true,
    });
    expect(delivered(fake, stranger)).toBe(0);
    // Asking again (a resend of the same verification) changes nothing; nor does a guess.
    const again = await sendFrom(service, '203.0.113.11', stranger, 'registration');
    expect(answerOf(again)).toEqual(answerOf(userAnswer));
    const guess = await service
      .http()
      .post('/sms/verify-code')
      .set('X-Forwarded-For', '203.0.113.11')
      .send({ phoneNumber: stranger, code: '123456', purpose: 'registration' })
      .expect(200);
    expect(guess.body).toMatchObject({ status: 'pending', valid: false });
    expect(delivered(fake, stranger)).toBe(0);
  });

  it('answers numbers with history and strangers alike during the holds, in time too', async () => {
    // Interleaved, so load on the machine hits both groups alike: numbers that verified before
    // (delivered: one provider round trip) and strangers (held: an imitated round trip).
    const strangers = vouched.map(() => inRange(nextRange(), 3));
    const known: Observation[] = [];
    const unknown: Observation[] = [];
    for (let index = 0; index < vouched.length; index += 1) {
      known.push(
        await observe(sendFrom(service, nextNetworkAddress(), vouched[index], 'registration')),
      );
      unknown.push(
        await observe(sendFrom(service, nextNetworkAddress(), strangers[index], 'registration')),
      );
    }
    expect(vouched.map((phoneNumber) => delivered(fake, phoneNumber))).toEqual(
      vouched.map(() => 2),
    );
    expect(strangers.map((phoneNumber) => delivered(fake, phoneNumber))).toEqual(
      strangers.map(() => 0),
    );
    const reference = known[0].answer;
    expect(
      [...known, ...unknown].filter(({ answer }) => !isDeepStrictEqual(answer, reference)),
    ).toEqual([]);
    const withHistory = median(known.map(({ elapsedMs }) => elapsedMs));
    const without = median(unknown.map(({ elapsedMs }) => elapsedMs));
    const gap = Math.abs(withHistory - without);
    if (gap > TIMING_TOLERANCE_MS) {
      throw new Error(
        `median ${withHistory.toFixed(1)} ms with history vs ${without.toFixed(1)} ms without: ` +
          `a gap of ${gap.toFixed(1)} ms, more than ${TIMING_TOLERANCE_MS} ms`,
      );
    }
    // Held sends do wait like real ones (the gap would hide nothing if both were instant).
    expect(without).toBeGreaterThan(PROVIDER_LATENCY_MS * 0.6);
  });

  it('tells operators: an alert per hold, logged and POSTed at once, and a Prometheus counter', async () => {
    // The timer is off (24 h): the alerts come from the holds starting.
    const pumpingAlerts = () =>
      receiver.received.filter(({ body }) => body.rule === 'pumping_hold');
    for (let waited = 0; pumpingAlerts().length < 2 && waited < 10_000; waited += 50) {
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    const messages = pumpingAlerts()
      .map(({ body }) => String(body.message))
      .sort();
    expect(messages).toEqual([
      expect.stringMatching(/^SMS pumping suspected: country ET held \(enforced\)\. 0 of 10 codes/),
      expect.stringMatching(
        /^SMS pumping suspected: number range \+2519\d{4}···· held \(enforced\)/,
      ),
    ]);
    const logged = service.logs.filter(
      (line) => (line.alert as { rule?: string } | undefined)?.rule === 'pumping_hold',
    );
    expect(logged.filter((line) => String(line.msg).startsWith('Alert: '))).toHaveLength(2);
    const listed = await service.http().get('/analytics/sms/alerts').set(operator).expect(200);
    expect(
      listed.body.active.filter((alert: { rule: string }) => alert.rule === 'pumping_hold'),
    ).toHaveLength(2);

    const metrics = await service.http().get('/metrics').set(operator).expect(200);
    expect(metrics.text).toContain('sms_pumping_holds_total{scope="prefix",mode="enforced"} 1');
    expect(metrics.text).toContain('sms_pumping_holds_total{scope="country",mode="enforced"} 1');
  });
});

describe('Pumping holds start at the smallest scope that explains the traffic', () => {
  let fake: FakeTwilioServer;
  let service: TestApp;
  const clock = new FakeClock(Date.UTC(2026, 10, 25, 8));

  beforeAll(async () => {
    fake = await startFakeTwilio();
    service = await startService(fake, clock);
  });
  afterAll(async () => {
    await service?.close();
    await fake?.stop();
  });
  // Each test starts with an empty pumping window and no hold.
  beforeEach(async () => {
    clock.advance(2 * HOUR_MS);
    for (const hold of await holdsOf(service)) {
      await service.http().delete(`/admin/sms/holds/${hold.id}`).set(operator).expect(204);
    }
    // A lifted scope is judged on what it sent after the lift: move past the lift's instant.
    clock.advance(1_000);
  });

  /** Unverified registration sends, each number from the address `from` gives it. */
  async function attack(numbers: string[], from: (index: number) => string): Promise<number[]> {
    for (const [index, phoneNumber] of numbers.entries()) {
      await sendFrom(service, from(index), phoneNumber, 'registration').expect(200);
    }
    return numbers.map((phoneNumber) => delivered(fake, phoneNumber));
  }

  it('a range hold does not affect another range', async () => {
    const range = nextRange();
    const numbers = Array.from({ length: MIN_SENDS + 2 }, (_, index) => inRange(range, index));
    expect(await attack(numbers, () => nextNetworkAddress())).toEqual([
      ...Array(MIN_SENDS).fill(1),
      0,
      0,
    ]);
    expect(await holdsOf(service)).toEqual([
      expect.objectContaining({ scope: 'prefix', label: `${range}····` }),
    ]);
    // A stranger next door, in another range of the same country, gets a code.
    const neighbour = inRange(nextRange(), 1);
    await sendFrom(service, nextNetworkAddress(), neighbour, 'registration').expect(200);
    expect(delivered(fake, neighbour)).toBe(1);
  });

  it('a country is not held for many ranges from few networks', async () => {
    const network = nextNetworkAddress();
    // Every number in a range of its own, every send from one /24 (many hosts of it).
    const numbers = Array.from({ length: 2 * MIN_SENDS }, () => inRange(nextRange(), 1));
    const hosts = (index: number) => network.replace(/\.7$/, `.${10 + index}`);
    expect(await attack(numbers, hosts)).toEqual(numbers.map(() => 1));
    expect(await holdsOf(service)).toEqual([]);
  });

  it('a country is not held for many networks sending to few ranges', async () => {
    // Three ranges, under the range threshold each, from a network per send.
    const ranges = Array.from({ length: COUNTRY_MIN_RANGES - 1 }, nextRange);
    const numbers = ranges.flatMap((range) =>
      Array.from({ length: MIN_SENDS - 1 }, (_, index) => inRange(range, 100 + index)),
    );
    expect(await attack(numbers, () => nextNetworkAddress())).toEqual(numbers.map(() => 1));
    expect(await holdsOf(service)).toEqual([]);
  });

  it('a range whose own numbers explain its traffic never counts towards its country', async () => {
    // Traffic recorded while no hold could start (another instance, SMS_PUMPING_MODE=off): a
    // sweep of one range, plus a few sends to ranges of their own, all unverified.
    const recorder = await startTestApp({
      databaseUrl: service.databaseUrl,
      redisKeyPrefix: service.redisKeyPrefix,
      env: {
        ...RELAXED_LIMITS,
        ...authTestEnvironment(fake),
        TRUST_PROXY: '127.0.0.1,::1',
        SMS_PUMPING_MODE: 'off',
      },
      override: (builder) => builder.overrideProvider(Clock).useValue(clock),
    });
    const swept = nextRange();
    try {
      for (let suffix = 0; suffix < MIN_SENDS + 2; suffix += 1) {
        await sendFrom(
          recorder,
          nextNetworkAddress(),
          inRange(swept, suffix),
          'registration',
        ).expect(200);
      }
      for (let range = 0; range < COUNTRY_MIN_RANGES + 2; range += 1) {
        await sendFrom(
          recorder,
          nextNetworkAddress(),
          inRange(nextRange(), 1),
          'registration',
        ).expect(200);
      }
    } finally {
      await recorder.close();
    }
    // Counted with the sweep, the country would qualify; the sweep is the range's own doing, so
    // the next send elsewhere in the country goes through and the country is not held…
    const elsewhere = inRange(nextRange(), 1);
    await sendFrom(service, nextNetworkAddress(), elsewhere, 'registration').expect(200);
    expect(delivered(fake, elsewhere)).toBe(1);
    expect(await holdsOf(service)).toEqual([]);
    // …and the next send into the swept range holds that range.
    const next = inRange(swept, 9_000);
    await sendFrom(service, nextNetworkAddress(), next, 'registration').expect(200);
    expect(delivered(fake, next)).toBe(0);
    expect(await holdsOf(service)).toEqual([
      expect.objectContaining({ scope: 'prefix', label: `${swept}····` }),
    ]);
  });

  it('a country is held for low conversion across many ranges from many networks', async () => {
    const numbers = Array.from({ length: MIN_SENDS + 2 }, () => inRange(nextRange(), 1));
    expect(await attack(numbers, () => nextNetworkAddress())).toEqual([
      ...Array(MIN_SENDS).fill(1),
      0,
      0,
    ]);
    expect(await holdsOf(service)).toEqual([
      expect.objectContaining({
        scope: 'country',
        label: 'ET',
        sends: MIN_SENDS,
        ranges: MIN_SENDS,
        networks: MIN_SENDS,
      }),
    ]);
    // Lifted, every number gets its code again at once.
    const [hold] = await holdsOf(service);
    await service.http().delete(`/admin/sms/holds/${hold.id}`).set(operator).expect(204);
    const next = inRange(nextRange(), 1);
    await sendFrom(service, nextNetworkAddress(), next, 'registration').expect(200);
    expect(delivered(fake, next)).toBe(1);
  });
});
