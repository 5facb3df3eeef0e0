import { Clock } from '../../src/common/clock';
import { createUser } from '../factories/user.factory';
import { FakeTwilioServer } from '../fakes/fake-twilio-server';
import { FakeClock } from '../support/fake-clock';
import { messagingEnv, startFakeTwilio } from '../support/fake-twilio-app';
import { TestApp, startTestApp } from '../support/test-app';

const ADMIN_API_KEY = 'operator-key-0123456789abcdefghijklmnop';

/** Ethiopian mobiles in different number ranges, so only the country statistics add up. */
function spreadNumber(index: number): string {
  return `+2519${String(10 + index).padStart(2, '0')}${String(100000 + index).slice(-6)}`;
}

/** Ethiopian mobiles in one number range (+25191123····): what a pumping sweep walks through. */
function rangeNumber(index: number): string {
  return `+25191123${String(index).padStart(4, '0')}`;
}

describe('Operator routes', () => {
  let off: TestApp;
  let on: TestApp;

  beforeAll(async () => {
    off = await startTestApp({ skipAccountFilter: true });
    on = await startTestApp({
      skipAccountFilter: true,
      env: { ADMIN_API_KEY },
    });
  });
  afterAll(async () => {
    await off.close();
    await on.close();
  });

  it('are off (404) without an ADMIN_API_KEY', async () => {
    const response = await off
      .http()
      .get('/admin/sms/holds')
      .set('Authorization', `Bearer ${ADMIN_API_KEY}`)
      .expect(404);
    expect(response.body).toMatchObject({ success: false, error: 'NOT_FOUND' });
  });

  it('answer 401 without the key or with a wrong one', async () => {
    const missing = await on.http().get('/admin/sms/holds').expect(401);
    expect(missing.body).toMatchObject({ success: false, error: 'UNAUTHORIZED' });
    expect(missing.headers['www-authenticate']).toContain('Bearer');
    await on
      .http()
      .get('/admin/sms/holds')
      .set('Authorization', `Bearer ${ADMIN_API_KEY}x`)
      .expect(401);
    await on.http().get('/admin/sms/holds').set('Authorization', ADMIN_API_KEY).expect(401);
  });

  it('answer with the right key', async () => {
    const response = await on
      .http()
      .get('/admin/sms/holds')
      .set('Authorization', `Bearer ${ADMIN_API_KEY}`)
      .expect(200);
    expect(response.body).toEqual({ holds: [] });
  });

  it('refuse a malformed hold id with 400', async () => {
    await on
      .http()
      .delete('/admin/sms/holds/not-a-uuid')
      .set('Authorization', `Bearer ${ADMIN_API_KEY}`)
      .expect(400);
  });
});

describe('SMS pumping protection (conversion guard)', () => {
  let fake: FakeTwilioServer;
  let service: TestApp;
  const operator = { Authorization: `Bearer ${ADMIN_API_KEY}` };

  beforeAll(async () => {
    fake = await startFakeTwilio();
    service = await startTestApp({
      skipAccountFilter: true,
      env: {
        ...messagingEnv(fake),
        ADMIN_API_KEY,
        SMS_PUMPING_MIN_SENDS: '10',
        SMS_PUMPING_MIN_CONVERSION: '0.2',
      },
    });
  });
  afterAll(async () => {
    await service.close();
    await fake.stop();
  });

  it('holds a number range whose codes are not verified, lists it, and resumes when lifted', async () => {
    const send = (index: number) =>
      service
        .http()
        .post('/sms/send-verification')
        .send({ phoneNumber: rangeNumber(index), purpose: 'registration' });
    const answers = [];
    for (let index = 0; index < 10; index += 1) answers.push(await send(index).expect(200));
    // Held: answered exactly like the sends before it, and nothing is delivered.
    const held = await send(10).expect(200);
    expect(Object.keys(held.body).sort()).toEqual(Object.keys(answers[0].body).sort());
    expect(held.body).toMatchObject({ status: 'pending', valid: false, to: rangeNumber(10) });
    expect(held.headers['retry-after']).toBeUndefined();
    expect(fake.messages).toHaveLength(10);
    expect(service.logs.some((line) => String(line.msg).startsWith('SMS pumping suspected'))).toBe(
      true,
    );

    const list = await service.http().get('/admin/sms/holds').set(operator).expect(200);
    expect(list.body.holds).toEqual([
      {
        id: expect.any(String),
        scope: 'prefix',
        label: '+25191123····',
        mode: 'enforced',
        sends: 10,
        verified: 0,
        conversion: 0,
        ranges: null,
        networks: null,
        createdAt: expect.any(String),
        expiresAt: expect.any(String),
      },
    ]);

    await service
      .http()
      .delete(`/admin/sms/holds/${list.body.holds[0].id}`)
      .set(operator)
      .expect(204);
    await service
      .http()
      .delete(`/admin/sms/holds/${list.body.holds[0].id}`)
      .set(operator)
      .expect(404);
    await send(11).expect(200);
    expect(fake.messages).toHaveLength(11);
  });
});

describe('SMS pumping protection in shadow mode', () => {
  let fake: FakeTwilioServer;
  let service: TestApp;

  beforeAll(async () => {
    fake = await startFakeTwilio();
    service = await startTestApp({
      skipAccountFilter: true,
      env: {
        ...messagingEnv(fake),
        ADMIN_API_KEY,
        SMS_PUMPING_MODE: 'shadow',
        SMS_PUMPING_MIN_SENDS: '5',
      },
    });
  });
  afterAll(async () => {
    await service.close();
    await fake.stop();
  });

  it('reports the hold but keeps sending', async () => {
    for (let index = 0; index < 7; index += 1) {
      await service
        .http()
        .post('/sms/send-verification')
        .send({ phoneNumber: rangeNumber(index), purpose: 'login' })
        .expect(200);
    }
    expect(fake.messages).toHaveLength(7);
    const list = await service
      .http()
      .get('/admin/sms/holds')
      .set('Authorization', `Bearer ${ADMIN_API_KEY}`)
      .expect(200);
    expect(list.body.holds).toEqual([expect.objectContaining({ scope: 'prefix', mode: 'shadow' })]);
  });
});

describe('Verified codes keep a country open', () => {
  let fake: FakeTwilioServer;
  let service: TestApp;

  beforeAll(async () => {
    fake = await startFakeTwilio();
    service = await startTestApp({
      skipAccountFilter: true,
      env: { ...messagingEnv(fake), SMS_PUMPING_MIN_SENDS: '10' },
    });
  });
  afterAll(async () => {
    await service.close();
    await fake.stop();
  });

  it('does not hold a country with healthy conversion', async () => {
    for (let index = 0; index < 12; index += 1) {
      const phoneNumber = spreadNumber(index);
      await service
        .http()
        .post('/sms/send-verification')
        .send({ phoneNumber, purpose: 'login' })
        .expect(200);
      if (index % 2 === 0) {
        const code = /(\d{6})/.exec(fake.lastMessageTo(phoneNumber)!.body)![1];
        await service
          .http()
          .post('/sms/verify-code')
          .send({ phoneNumber, code, purpose: 'login' })
          .expect(200);
      }
    }
    expect(fake.messages).toHaveLength(12);
  });
});

describe('Daily SMS budget', () => {
  let fake: FakeTwilioServer;
  let service: TestApp;

  beforeAll(async () => {
    fake = await startFakeTwilio();
    service = await startTestApp({
      skipAccountFilter: true,
      env: { ...messagingEnv(fake), SMS_DAILY_BUDGET: '0.15', SMS_PRICES: 'ET:0.05' },
    });
  });
  afterAll(async () => {
    await service.close();
    await fake.stop();
  });

  it('stops sends at the budget with 503, and a failed send costs nothing', async () => {
    fake.failNext(1, { status: 503 });
    await service
      .http()
      .post('/sms/send-verification')
      .send({ phoneNumber: spreadNumber(0), purpose: 'login' })
      .expect(503);
    for (let index = 1; index <= 3; index += 1) {
      await service
        .http()
        .post('/sms/send-verification')
        .send({ phoneNumber: spreadNumber(index), purpose: 'login' })
        .expect(200);
    }
    const refused = await service
      .http()
      .post('/sms/send-verification')
      .send({ phoneNumber: spreadNumber(4), purpose: 'login' })
      .expect(503);
    expect(refused.body).toMatchObject({ success: false, error: 'SMS_BUDGET_EXHAUSTED' });
    const retryAfter = Number(refused.headers['retry-after']);
    expect(retryAfter).toBeGreaterThan(0);
    expect(retryAfter).toBeLessThanOrEqual(24 * 3600);
    expect(fake.messages).toHaveLength(3);
    expect(
      service.logs.some((line) => String(line.msg).startsWith('Daily SMS budget reached')),
    ).toBe(true);
  });
});

describe('Holds and the budget do not reveal which numbers have an account', () => {
  let fake: FakeTwilioServer;
  let service: TestApp;

  beforeAll(async () => {
    fake = await startFakeTwilio();
    // The account filter stays on: login codes go only to numbers with an account.
    // A still clock: Retry-After counts seconds to the budget's reset, and a real clock can
    // cross a second boundary between the two compared requests.
    const clock = new FakeClock();
    service = await startTestApp({
      env: { ...messagingEnv(fake), SMS_DAILY_BUDGET: '0.1', SMS_PRICES: 'ET:0.05' },
      override: (builder) => builder.overrideProvider(Clock).useValue(clock),
    });
  });
  afterAll(async () => {
    await service.close();
    await fake.stop();
  });

  it('answers 503 for numbers with and without an account once the budget is spent', async () => {
    const withAccount = [spreadNumber(0), spreadNumber(1), spreadNumber(2)];
    for (const phoneNumber of withAccount) await createUser(service, { phoneNumber });
    for (const phoneNumber of withAccount.slice(0, 2)) {
      await service
        .http()
        .post('/sms/send-verification')
        .send({ phoneNumber, purpose: 'login' })
        .expect(200);
    }
    expect(fake.messages).toHaveLength(2);
    const known = await service
      .http()
      .post('/sms/send-verification')
      .send({ phoneNumber: withAccount[2], purpose: 'login' })
      .expect(503);
    const unknown = await service
      .http()
      .post('/sms/send-verification')
      .send({ phoneNumber: spreadNumber(3), purpose: 'login' })
      .expect(503);
    expect(unknown.body).toEqual(known.body);
    expect(unknown.headers['retry-after']).toBe(known.headers['retry-after']);
  });
});
