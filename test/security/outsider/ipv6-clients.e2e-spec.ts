import { DataSource } from 'typeorm';
import { EventRecorder } from '../../../src/analytics/events/event-recorder';
import { createUser } from '../../factories/user.factory';
import { FakeTwilioServer } from '../../fakes/fake-twilio-server';
import { messagingEnv, startFakeTwilio } from '../../support/fake-twilio-app';
import { TestApp, startTestApp } from '../../support/test-app';

/**
 * Issue 14 item 3: an IPv6 subscriber owns at least a /64, so a fresh address per request must
 * not be a fresh client. Every per-client limit is attacked the way a stranger would: from many
 * addresses inside one /64 (or one IPv4 address spelled as IPv4-mapped IPv6), through a proxy we
 * trust, which names the client in X-Forwarded-For.
 */

/** supertest connects over loopback; that is "our proxy" here. */
const OUR_PROXY = '127.0.0.1,::1';

let phoneCounter = 0;
function nextPhone(): string {
  phoneCounter += 1;
  // A range per number: no range limit or pumping statistic is in play.
  return `+2519${String(40 + phoneCounter).padStart(3, '0')}${String(phoneCounter).padStart(5, '0')}`;
}

/** A new address inside one /64 for every call: what a single IPv6 subscriber can do. */
function addressesIn(slash64: string): () => string {
  let host = 0;
  return () => {
    host += 1;
    const group = (value: number) => (value % 0x10000).toString(16);
    return `${slash64}:${group(host * 7919)}:${group(host)}:${group(host * 31)}:1`;
  };
}

describe('An IPv6 /64 is one client', () => {
  let fake: FakeTwilioServer;
  let service: TestApp;

  async function start(env: Record<string, string>): Promise<TestApp> {
    return startTestApp({
      skipAccountFilter: true,
      env: messagingEnv(fake, { TRUST_PROXY: OUR_PROXY, SMS_PUMPING_MODE: 'off', ...env }),
    });
  }

  const send = (phoneNumber: string, from: string) =>
    service
      .http()
      .post('/sms/send-verification')
      .set('X-Forwarded-For', from)
      .send({ phoneNumber, purpose: 'login' });

  beforeAll(async () => {
    fake = await startFakeTwilio();
  });
  afterEach(async () => {
    await service?.close();
  });
  afterAll(async () => {
    await fake.stop();
  });

  it('30 numbers from 30 addresses of one /64: the distinct-numbers limit stops at 5', async () => {
    service = await start({ SMS_IP_DISTINCT_PHONES: '5' });
    const nextAddress = addressesIn('2001:db8:40:1');
    const phones = Array.from({ length: 30 }, () => nextPhone());
    const statuses: number[] = [];
    for (const phoneNumber of phones)
      statuses.push((await send(phoneNumber, nextAddress())).status);

    expect(statuses).toEqual([...Array(5).fill(200), ...Array(25).fill(429)]);
    expect(phones.map((phone) => fake.messages.filter((m) => m.to === phone).length)).toEqual([
      ...Array(5).fill(1),
      ...Array(25).fill(0),
    ]);
    // The neighbouring /64 is somebody else, with a quota of its own.
    await send(nextPhone(), '2001:db8:40:2::1').expect(200);
  });

  it('a port in X-Forwarded-For, or a value that is no address, is no fresh client', async () => {
    service = await start({ SMS_IP_DISTINCT_PHONES: '5' });
    const spellings = [
      '198.18.0.9',
      '198.18.0.9:4444',
      '198.18.0.9:40001',
      '[::ffff:198.18.0.9]:80',
      '198.18.0.9:40002',
      '198.18.0.9:40003',
      '198.18.0.9:40004',
    ];
    const statuses: number[] = [];
    for (const from of spellings) statuses.push((await send(nextPhone(), from)).status);
    expect(statuses).toEqual([...Array(5).fill(200), 429, 429]);

    // Made-up values share one budget instead of getting a new one each.
    const madeUp: number[] = [];
    for (let index = 1; index <= 7; index += 1) {
      madeUp.push((await send(nextPhone(), `not-an-ip-${index}`)).status);
    }
    expect(madeUp).toEqual([...Array(5).fill(200), 429, 429]);
  });

  it('counts sends per client across the /64 (SMS_IP_LIMIT), whatever the spelling', async () => {
    service = await start({ SMS_IP_LIMIT: '3' });
    const spellings = [
      '2001:db8:41:7::1',
      '2001:0DB8:0041:0007:0000:0000:0000:0002',
      '2001:db8:41:7:ffff:ffff:ffff:ffff',
      '2001:db8:41:7::abcd',
    ];
    const statuses: number[] = [];
    for (const from of spellings) statuses.push((await send(nextPhone(), from)).status);
    expect(statuses).toEqual([200, 200, 200, 429]);
  });

  it('takes an IPv4-mapped IPv6 address for the IPv4 client it is', async () => {
    service = await start({ SMS_IP_LIMIT: '2' });
    await send(nextPhone(), '203.0.113.9').expect(200);
    await send(nextPhone(), '::ffff:203.0.113.9').expect(200);
    await send(nextPhone(), '::ffff:cb00:7109').expect(429);
    await send(nextPhone(), '203.0.113.10').expect(200);
  });

  it('groups by CLIENT_IPV6_PREFIX: with /48, two /64s of one site are one client', async () => {
    service = await start({ SMS_IP_LIMIT: '2', CLIENT_IPV6_PREFIX: '48' });
    await send(nextPhone(), '2001:db8:42:1::1').expect(200);
    await send(nextPhone(), '2001:db8:42:2::1').expect(200);
    await send(nextPhone(), '2001:db8:42:ff::1').expect(429);
    await send(nextPhone(), '2001:db8:43:1::1').expect(200);
  });

  it('limits code checks per client across the /64 (SMS_VERIFY_IP_LIMIT)', async () => {
    service = await start({ SMS_VERIFY_IP_LIMIT: '3' });
    const nextAddress = addressesIn('2001:db8:44:1');
    const phones = [nextPhone(), nextPhone(), nextPhone(), nextPhone()];
    for (const phoneNumber of phones) await send(phoneNumber, '198.51.100.44').expect(200);
    const statuses: number[] = [];
    for (const phoneNumber of phones) {
      const check = await service
        .http()
        .post('/sms/verify-code')
        .set('X-Forwarded-For', nextAddress())
        .send({ phoneNumber, code: '000000', purpose: 'login' });
      statuses.push(check.status);
    }
    expect(statuses).toEqual([200, 200, 200, 429]);
  });

  it('limits password attempts per client across the /64 (AUTH_PASSWORD_IP_ATTEMPTS_LIMIT)', async () => {
    service = await start({ AUTH_PASSWORD_IP_ATTEMPTS_LIMIT: '3' });
    const nextAddress = addressesIn('2001:db8:45:1');
    const statuses: number[] = [];
    for (let attempt = 0; attempt < 4; attempt += 1) {
      const phoneNumber = nextPhone();
      await createUser(service, { phoneNumber });
      const login = await service
        .http()
        .post('/auth/login')
        .set('X-Forwarded-For', nextAddress())
        .send({ phoneNumber, password: 'not-the-password-9' });
      statuses.push(login.status);
    }
    expect(statuses).toEqual([401, 401, 401, 429]);
  });

  it('throttles every route per client across the /64 (HTTP_THROTTLE_LIMIT)', async () => {
    service = await start({ HTTP_THROTTLE_LIMIT: '3' });
    const nextAddress = addressesIn('2001:db8:46:1');
    const statuses: number[] = [];
    for (let call = 0; call < 4; call += 1) {
      const response = await service
        .http()
        .post('/phone/validate')
        .set('X-Forwarded-For', nextAddress())
        .send({ phoneNumber: '+251911234567' });
      statuses.push(response.status);
    }
    expect(statuses).toEqual([200, 200, 200, 429]);
  });

  it('records one client in analytics for every address of the /64', async () => {
    service = await start({});
    await send(nextPhone(), '2001:db8:47:1::1').expect(200);
    await send(nextPhone(), '2001:db8:47:1:abcd::9').expect(200);
    await send(nextPhone(), '2001:db8:47:2::1').expect(200);
    await service.app.get(EventRecorder).flush();
    const rows: { ip_hash: string }[] = await service.app
      .get(DataSource)
      .query(`SELECT ip_hash FROM sms_events WHERE status = 'sent' ORDER BY occurred_at`);
    expect(rows).toHaveLength(3);
    expect(rows[0].ip_hash).toBe(rows[1].ip_hash);
    expect(rows[2].ip_hash).not.toBe(rows[0].ip_hash);
  });
});
