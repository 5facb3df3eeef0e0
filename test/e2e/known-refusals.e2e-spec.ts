import { EventRecorder } from '../../src/analytics/events/event-recorder';
import { Clock } from '../../src/common/clock';
import { Sql } from '../../src/database/sql';
import { RateLimitStore } from '../../src/rate-limit/store/rate-limit-store';
import { FakeClock } from '../support/fake-clock';
import { RELAXED_LIMITS } from '../support/relaxed-limits';
import { TestApp, startTestApp } from '../support/test-app';

/**
 * A number the store refused is answered from memory until its refusal ends: the 429 an
 * SMS-bombing attacker keeps hitting costs no store round trip, and nothing more is refused than
 * the store would refuse.
 */
describe('Send refusals answered from memory', () => {
  const WINDOW_MS = 60_000;
  let service: TestApp;
  let clock: FakeClock;
  let consume: jest.SpiedFunction<RateLimitStore['consume']>;

  const send = (phoneNumber: string) =>
    service.http().post('/sms/send-verification').send({ phoneNumber, purpose: 'registration' });

  beforeAll(async () => {
    clock = new FakeClock();
    service = await startTestApp({
      skipAccountFilter: true,
      env: {
        ...RELAXED_LIMITS,
        SMS_RATE_LIMIT_MAX_ATTEMPTS: '1',
        SMS_PURPOSE_LIMITS: 'registration:1,login:1,password_reset:1,two_factor:1',
        SMS_RATE_LIMIT_WINDOW: String(WINDOW_MS),
      },
      override: (builder) => builder.overrideProvider(Clock).useValue(clock),
    });
    consume = jest.spyOn(service.app.get(RateLimitStore), 'consume');
  });
  afterAll(() => service.close());

  it('asks the store once, then answers the same refusal itself until it ends', async () => {
    const phoneNumber = '+251911500001';
    await send(phoneNumber).expect(200);
    const first = await send(phoneNumber).expect(429);
    expect(consume).toHaveBeenCalledTimes(2);

    clock.advance(20_000);
    const again = await send(phoneNumber).expect(429);
    expect(consume).toHaveBeenCalledTimes(2);
    expect(again.body).toEqual({ ...first.body, retryAfter: first.body.retryAfter - 20 });
    expect(again.headers['retry-after']).toBe(String(first.body.retryAfter - 20));

    // Another number is not affected, and goes to the store.
    await send('+251911500002').expect(200);
    expect(consume).toHaveBeenCalledTimes(3);

    // Once the refusal ends the store decides again: the window has room.
    clock.advance(first.body.retryAfter * 1000 - 20_000);
    await send(phoneNumber).expect(200);
    expect(consume).toHaveBeenCalledTimes(4);
  });

  it('records an answered-from-memory refusal like any other in analytics', async () => {
    const phoneNumber = '+251911500003';
    await send(phoneNumber).expect(200);
    await send(phoneNumber).expect(429);
    await send(phoneNumber).expect(429);
    await service.app.get(EventRecorder).flush();
    const rows = await service.app
      .get(Sql)
      .rows<{ layer: string }>(
        `SELECT layer FROM sms_events WHERE status = 'rate_limited' AND occurred_at = $1`,
        [clock.now()],
      );
    expect(rows).toHaveLength(2);
    expect(new Set(rows.map((row) => row.layer)).size).toBe(1);
  });
});
