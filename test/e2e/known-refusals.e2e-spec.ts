import { EventRecorder } from '../../src/analytics/events/event-recorder';
import { Clock } from '../../src/common/clock';
import { Hasher } from '../../src/common/hasher';
import { Sql } from '../../src/database/sql';
import { MetricsService } from '../../src/metrics/metrics.service';
import { SmsRateLimitGuard } from '../../src/sms/abuse/sms-rate-limit.guard';
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

  it('answers a known refusal before the Nest pipeline, with the same answer the guard gives', async () => {
    const guard = jest.spyOn(SmsRateLimitGuard.prototype, 'canActivate');
    const rejections = async () => {
      const text = await service.app.get(MetricsService).render();
      const line = text
        .split('\n')
        .find((row) => row.startsWith('sms_rate_limit_rejections_total{layer="phone"}'));
      return Number(line?.split(' ')[1] ?? 0);
    };
    try {
      const phoneNumber = '+251911500004';
      await send(phoneNumber).expect(200);
      const before = await rejections();
      const fromGuard = await send(phoneNumber).expect(429);
      expect(guard).toHaveBeenCalledTimes(2);

      const fromHook = await send(phoneNumber).expect(429);
      // A body the validation pipe would refuse is still refused for its number first, as the
      // guard (which runs before validation) does.
      const withExtraField = await service
        .http()
        .post('/sms/send-verification')
        .send({ phoneNumber, purpose: 'registration', extra: true })
        .expect(429);
      expect(guard).toHaveBeenCalledTimes(2);

      for (const response of [fromHook, withExtraField]) {
        expect(response.body).toEqual(fromGuard.body);
        for (const header of [
          'retry-after',
          'ratelimit-limit',
          'ratelimit-remaining',
          'ratelimit-reset',
          'content-type',
          'content-security-policy',
          'x-content-type-options',
        ]) {
          expect([header, response.headers[header]]).toEqual([header, fromGuard.headers[header]]);
        }
        expect(response.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
      }
      expect(await rejections()).toBe(before + 3);

      // The refusing layer counts the phone's sends of every purpose: a login code for it is
      // answered from memory too, while another number still goes through the guard.
      await service
        .http()
        .post('/sms/send-verification')
        .send({ phoneNumber, purpose: 'login' })
        .expect(429);
      expect(guard).toHaveBeenCalledTimes(2);
      await send('+251911500005').expect(200);
      expect(guard).toHaveBeenCalledTimes(3);
    } finally {
      guard.mockRestore();
    }
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
        `SELECT layer FROM sms_events WHERE status = 'rate_limited' AND phone_hash = $1`,
        [service.app.get(Hasher).hash('phone', phoneNumber)],
      );
    expect(rows).toHaveLength(2);
    expect(new Set(rows.map((row) => row.layer)).size).toBe(1);
  });
});
