import { Hasher } from '../../src/common/hasher';
import { PhoneService } from '../../src/phone/phone.service';
import { RateLimitStore } from '../../src/rate-limit/store/rate-limit-store';
import { RELAXED_LIMITS } from '../support/relaxed-limits';
import { TestApp, startTestApp } from '../support/test-app';

/**
 * The generic per-IP throttle (HTTP_THROTTLE_LIMIT) on the SMS routes, where it rides in the
 * same store call as the SMS limits: it still counts every request, valid or not.
 */
describe('HTTP_THROTTLE_LIMIT on the SMS routes', () => {
  const LIMIT = 3;
  let service: TestApp;
  let consume: jest.SpiedFunction<RateLimitStore['consume']>;
  let nextNumber = 0;

  /** Ethiopian mobiles in different number ranges, never seen before in this file. */
  function freshNumber(): string {
    nextNumber += 1;
    return `+2519${String(10 + nextNumber).padStart(2, '0')}${String(200000 + nextNumber)}`;
  }

  function post(path: string, body: Record<string, unknown>, forwardedFor: string) {
    return service.http().post(path).set('X-Forwarded-For', forwardedFor).send(body);
  }
  const send = (body: Record<string, unknown>, forwardedFor: string) =>
    post('/sms/send-verification', body, forwardedFor);
  const verify = (body: Record<string, unknown>, forwardedFor: string) =>
    post('/sms/verify-code', body, forwardedFor);

  beforeAll(async () => {
    service = await startTestApp({
      skipAccountFilter: true,
      env: {
        ...RELAXED_LIMITS,
        HTTP_THROTTLE_LIMIT: String(LIMIT),
        TRUST_PROXY: '1',
        // More wrong codes than the throttle allows, so the throttle is what refuses.
        SMS_MAX_ATTEMPTS: String(LIMIT + 2),
      },
    });
  });
  afterAll(() => service.close());
  beforeEach(() => {
    consume = jest.spyOn(service.app.get(RateLimitStore), 'consume');
  });
  afterEach(() => consume.mockRestore());

  it('checks the send limits and the HTTP throttle in one store call per send', async () => {
    const ip = '198.51.100.1';
    for (let call = 0; call < LIMIT; call += 1) {
      await send({ phoneNumber: freshNumber(), purpose: 'registration' }, ip).expect(200);
    }
    expect(consume).toHaveBeenCalledTimes(LIMIT);
    for (const [rules] of consume.mock.calls) {
      const layers = rules.map((rule) => rule.layer);
      expect(layers).toContain('phone');
      expect(layers.at(-1)).toBe('http');
    }

    const refused = await send({ phoneNumber: freshNumber(), purpose: 'registration' }, ip);
    expect(refused.status).toBe(429);
    expect(refused.body).toMatchObject({ success: false, error: 'RATE_LIMITED' });
    expect(Number(refused.headers['retry-after'])).toBeGreaterThanOrEqual(1);
    expect(consume).toHaveBeenCalledTimes(LIMIT + 1);

    // Another client is not affected.
    await send({ phoneNumber: freshNumber(), purpose: 'registration' }, '198.51.100.2').expect(200);
  });

  it('reads a send and a code check once: one normalization and one HMAC of the number each', async () => {
    const normalize = jest.spyOn(service.app.get(PhoneService), 'normalize');
    const hash = jest.spyOn(service.app.get(Hasher), 'hash');
    const phoneNumber = freshNumber();
    try {
      await send({ phoneNumber, purpose: 'registration' }, '198.51.100.20').expect(200);
      expect(normalize).toHaveBeenCalledTimes(1);
      expect(hash.mock.calls.filter(([domain]) => domain === 'phone')).toHaveLength(1);

      normalize.mockClear();
      hash.mockClear();
      await verify({ phoneNumber, code: '000000', purpose: 'registration' }, '198.51.100.20');
      expect(normalize).toHaveBeenCalledTimes(1);
      expect(hash.mock.calls.filter(([domain]) => domain === 'phone')).toHaveLength(1);
    } finally {
      normalize.mockRestore();
      hash.mockRestore();
    }
  });

  it('counts requests whose body is refused before any SMS limit applies', async () => {
    const ip = '198.51.100.3';
    const invalid = [
      { phoneNumber: 12345, purpose: 'registration' },
      { phoneNumber: '+251911', purpose: 'registration' },
      { phoneNumber: freshNumber(), purpose: 'no-such-purpose' },
    ];
    for (const body of invalid) await send(body, ip).expect(400);

    const refused = await send({ phoneNumber: freshNumber(), purpose: 'registration' }, ip);
    expect(refused.status).toBe(429);
    expect(refused.body).toMatchObject({ success: false, error: 'RATE_LIMITED' });
  });

  it('throttles before it checks an access token: forged tokens get 429 once over the limit', async () => {
    const me = () =>
      service
        .http()
        .get('/auth/me')
        .set('X-Forwarded-For', '198.51.100.9')
        .set('Authorization', 'Bearer forged.token.value');
    for (let call = 0; call < LIMIT; call += 1) await me().expect(401);
    const refused = await me().expect(429);
    expect(refused.body.error).toBe('RATE_LIMITED');
  });

  it('keeps throttling other routes on their own counters', async () => {
    const ip = '198.51.100.4';
    for (let call = 0; call < LIMIT; call += 1) {
      await send({ phoneNumber: freshNumber(), purpose: 'registration' }, ip).expect(200);
    }
    const validate = () =>
      service
        .http()
        .post('/phone/validate')
        .set('X-Forwarded-For', ip)
        .send({ phoneNumber: '+251911234567' });
    for (let call = 0; call < LIMIT; call += 1) await validate().expect(200);
    await validate().expect(429);
  });

  it("checks a code against the client's limit and the HTTP throttle in one store call", async () => {
    const ip = '198.51.100.5';
    const phoneNumber = freshNumber();
    await send({ phoneNumber, purpose: 'registration' }, '198.51.100.6').expect(200);
    consume.mockClear();

    for (let call = 0; call < LIMIT; call += 1) {
      const wrong = await verify({ phoneNumber, code: '000000', purpose: 'registration' }, ip);
      expect(wrong.status).toBe(200);
      expect(wrong.body).toMatchObject({ status: 'pending', valid: false });
    }
    // Each check: the guard's call (the client's limit and the throttle), then, once the check
    // has found a live verification to guess at, the phone's guess limits.
    const calls = consume.mock.calls.map(([rules]) => rules.map((rule) => rule.layer));
    expect(calls).toEqual(
      Array.from({ length: LIMIT }, () => [
        ['verify-ip', 'http'],
        ['verify-phone', 'verify-phone-ceiling'],
      ]).flat(),
    );
    const refused = await verify({ phoneNumber, code: '000000', purpose: 'registration' }, ip);
    expect(refused.status).toBe(429);
    expect(refused.body).toMatchObject({ success: false, error: 'RATE_LIMITED' });
  });

  it('counts code checks whose body is refused before any limit applies', async () => {
    const ip = '198.51.100.7';
    const invalid = [
      { phoneNumber: freshNumber(), purpose: 'registration' },
      { phoneNumber: ['+251911234567'], code: '123456', purpose: 'registration' },
      { phoneNumber: freshNumber(), code: '123456', purpose: 'nope' },
    ];
    for (const body of invalid) await verify(body, ip).expect(400);
    const refused = await verify(
      { phoneNumber: freshNumber(), code: '123456', purpose: 'registration' },
      ip,
    );
    expect(refused.status).toBe(429);
  });
});
