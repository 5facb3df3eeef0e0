import supertest from 'supertest';
import { Clock } from '../../../src/common/clock';
import { FakeTwilioServer } from '../../fakes/fake-twilio-server';
import { messagingEnv, startFakeTwilio } from '../../support/fake-twilio-app';
import { FakeClock } from '../../support/fake-clock';
import { TestApp, startTestApp } from '../../support/test-app';

/**
 * RateLimit-* headers tell a client about its own quota. Reporting a layer keyed on the number
 * (or its range, its country, the whole service) told anyone who asked for a code how many codes
 * other people had asked for that number: ask for a victim's number and a fresh one, compare. The
 * answers must not differ with what others did, neither when the send is accepted nor when a
 * shared layer refuses it.
 *
 * The clients come through a proxy we trust, which names them in X-Forwarded-For; the clock stands
 * still, so every window ends at the same time and only the counts could differ.
 */

const OUR_PROXY = '127.0.0.1,::1';
const QUOTA_HEADERS = ['ratelimit-limit', 'ratelimit-remaining', 'ratelimit-reset'];

let rangeCounter = 0;
/** A fresh Ethiopian number range (E.164 minus the last four digits), e.g. "+25192001". */
const nextRange = () => `+25192${String((rangeCounter += 1)).padStart(3, '0')}`;
const inRange = (range: string, suffix: number) => `${range}${String(suffix).padStart(4, '0')}`;
const nextPhone = () => inRange(nextRange(), 0);

let addressCounter = 0;
/** A documentation address (RFC 5737) per call: a client nobody has seen yet. */
const nextClient = () => `203.0.113.${(addressCounter += 1)}`;

/** Everything about a send's answer that a client could compare. */
function answerOf(response: supertest.Response) {
  return {
    status: response.status,
    body: response.status === 200 ? { status: response.body.status } : response.body,
    retryAfter: response.headers['retry-after'],
    ...Object.fromEntries(QUOTA_HEADERS.map((name) => [name, response.headers[name]])),
  };
}

describe('RateLimit headers say nothing about what others asked for a number', () => {
  let fake: FakeTwilioServer;
  let service: TestApp;
  const clock = new FakeClock(Date.UTC(2026, 2, 2, 9));

  const send = (from: string, phoneNumber: string, purpose = 'login') =>
    service
      .http()
      .post('/sms/send-verification')
      .set('X-Forwarded-For', from)
      .send({ phoneNumber, purpose });

  beforeAll(async () => {
    fake = await startFakeTwilio();
    service = await startTestApp({
      skipAccountFilter: true,
      env: messagingEnv(fake, {
        TRUST_PROXY: OUR_PROXY,
        SMS_PUMPING_MODE: 'off',
        SMS_RESEND_COOLDOWNS: '0',
        // The client's own layers at their defaults.
        SMS_IP_LIMIT: '20',
        SMS_IP_DISTINCT_PHONES: '5',
        HTTP_THROTTLE_LIMIT: '300',
        // The shared layers low enough to reach, each with another limit, all in one window.
        SMS_RATE_LIMIT_MAX_ATTEMPTS: '4',
        SMS_PURPOSE_LIMITS: 'registration:2,login:10000,password_reset:10000,two_factor:10000',
        SMS_PREFIX_LIMIT: '5',
        SMS_PREFIX_WINDOW: '900000',
      }),
      override: (builder) => builder.overrideProvider(Clock).useValue(clock),
    });
  });
  afterAll(async () => {
    await service?.close();
    await fake?.stop();
  });

  it('a send answers the same headers for a number others asked codes for and for a fresh one', async () => {
    const victim = nextPhone();
    const fresh = nextPhone();
    // Client A asks codes for the victim's number.
    const clientA = nextClient();
    await send(clientA, victim).expect(200);
    await send(clientA, victim).expect(200);

    // Client B, behind two addresses with nothing spent yet, asks for both numbers in turn.
    const [first, second] = [nextClient(), nextClient()];
    const victimFirst = await send(first, victim).expect(200);
    const freshFirst = await send(second, fresh).expect(200);
    const freshSecond = await send(first, fresh).expect(200);
    const victimSecond = await send(second, victim).expect(200);

    for (const name of QUOTA_HEADERS) expect(victimFirst.headers[name]).toMatch(/^\d+$/);
    expect(answerOf(victimFirst)).toEqual(answerOf(freshFirst));
    expect(answerOf(victimSecond)).toEqual(answerOf(freshSecond));
    // The quota is the client's own: it goes down with its sends, not with A's.
    expect(Number(freshSecond.headers['ratelimit-remaining'])).toBe(
      Number(freshFirst.headers['ratelimit-remaining']) - 1,
    );
  });

  it('a refusal reads the same whichever shared layer refused, and names none of their limits', async () => {
    const refusals: Record<string, supertest.Response> = {};

    // Per phone (4): four codes for one number.
    const phone = nextPhone();
    const byPhone = nextClient();
    for (let sent = 0; sent < 4; sent += 1) await send(byPhone, phone).expect(200);
    refusals.phone = await send(nextClient(), phone);

    // Per purpose (registration 2): two registration codes for another.
    const registering = nextPhone();
    const byPurpose = nextClient();
    for (let sent = 0; sent < 2; sent += 1) {
      await send(byPurpose, registering, 'registration').expect(200);
    }
    refusals.purpose = await send(nextClient(), registering, 'registration');

    // Per number range (5): five neighbours of the number asked for.
    const range = nextRange();
    const byRange = nextClient();
    for (let suffix = 1; suffix <= 5; suffix += 1) {
      await send(byRange, inRange(range, suffix)).expect(200);
    }
    refusals.range = await send(nextClient(), inRange(range, 6));

    // A full country or global cap refuses nothing (send-caps.e2e-spec.ts): it has no 429 to read.

    const expected = {
      status: 429,
      body: {
        success: false,
        message: 'Rate limit exceeded. Please try again later.',
        error: 'RATE_LIMITED',
        retryAfter: 900,
      },
      retryAfter: '900',
      'ratelimit-limit': undefined,
      'ratelimit-remaining': undefined,
      'ratelimit-reset': undefined,
    };
    expect(
      Object.fromEntries(Object.entries(refusals).map(([layer, r]) => [layer, answerOf(r)])),
    ).toEqual({ phone: expected, purpose: expected, range: expected });
  });
});
