import type { ChildProcess } from 'node:child_process';
import { FakeTwilioServer } from '../../fakes/fake-twilio-server';
import { AuthClient, Session, authTestEnvironment } from '../../support/auth-client';
import { freePorts, startRedisServer, stopRedisServer } from '../../support/redis-server';
import { RELAXED_LIMITS } from '../../support/relaxed-limits';
import { TestApp, startTestApp } from '../../support/test-app';
import { TEST_TWILIO } from '../../support/twilio-test-credentials';

/**
 * A stolen or abandoned access token must die with its session: right after a logout, a replayed
 * refresh token, a password reset or a phone change, not up to JWT_ACCESS_TTL_SECONDS later, and
 * on every instance, not only the one that saw the logout.
 */

const PASSWORD = 'lantern-mosaic-47';
let phoneCounter = 0;
const nextPhone = () => `+2519140${String((phoneCounter += 1)).padStart(5, '0')}`;

async function twoInstances(env: Record<string, string | undefined>): Promise<[TestApp, TestApp]> {
  const first = await startTestApp({ env });
  const second = await startTestApp({
    env,
    databaseUrl: first.databaseUrl,
    redisKeyPrefix: first.redisKeyPrefix,
  });
  return [first, second];
}

describe.each([
  ['with Redis: revocations shared through Redis', {}],
  [
    'without Redis: revocations read from PostgreSQL',
    { REDIS_URL: undefined, RATE_LIMIT_STORE: 'postgres' },
  ],
] as const)('Sessions end at once on every instance (%s)', (_name, storeEnv) => {
  let fake: FakeTwilioServer;
  let instances: [TestApp, TestApp];
  let client: AuthClient;

  beforeAll(async () => {
    fake = await FakeTwilioServer.start({
      accountSid: TEST_TWILIO.accountSid,
      authToken: TEST_TWILIO.authToken,
    });
    instances = await twoInstances({
      ...RELAXED_LIMITS,
      ...authTestEnvironment(fake),
      AUTH_PASSWORD_ATTEMPTS_LIMIT: '100000',
      ...storeEnv,
    });
    client = new AuthClient(instances[0], fake);
  });
  afterAll(async () => {
    await instances?.[1]?.close();
    await instances?.[0]?.close();
    await fake?.stop();
  });

  /** GET /auth/me with the token on each instance: the statuses. */
  async function meOnEach(session: Session): Promise<number[]> {
    return Promise.all(
      instances.map(
        async (instance) =>
          (
            await instance
              .http()
              .get('/auth/me')
              .set('Authorization', `Bearer ${session.accessToken}`)
          ).status,
      ),
    );
  }

  it('logout ends that session’s access token, and only that session', async () => {
    const phone = nextPhone();
    const session = await client.register(phone, PASSWORD);
    const other = await client.loginWithSms(phone);
    expect(await meOnEach(session)).toEqual([200, 200]);

    await instances[1]
      .http()
      .post('/auth/logout')
      .send({ refreshToken: session.refreshToken })
      .expect(204);

    expect(await meOnEach(session)).toEqual([401, 401]);
    expect(await meOnEach(other)).toEqual([200, 200]);
  });

  it('a replayed refresh token ends every access token of its session', async () => {
    const phone = nextPhone();
    const stolen = await client.register(phone, PASSWORD);
    const refreshed = (
      await client.post('/auth/refresh', { refreshToken: stolen.refreshToken }).expect(200)
    ).body as Session;
    expect(await meOnEach(refreshed)).toEqual([200, 200]);

    // The thief (or the victim) presents the already used token again.
    await instances[1]
      .http()
      .post('/auth/refresh')
      .send({ refreshToken: stolen.refreshToken })
      .expect(401);

    expect(await meOnEach(stolen)).toEqual([401, 401]);
    expect(await meOnEach(refreshed)).toEqual([401, 401]);
  });

  it('a password reset ends every session of the account', async () => {
    const phone = nextPhone();
    const first = await client.register(phone, PASSWORD);
    const second = await client.loginWithSms(phone);
    const code = await client.code(phone, 'password_reset');
    await client
      .post('/auth/reset-password-sms', {
        phoneNumber: phone,
        code,
        newPassword: 'quiet-harbor-lamp-19',
      })
      .expect(204);

    expect(await meOnEach(first)).toEqual([401, 401]);
    expect(await meOnEach(second)).toEqual([401, 401]);
  });

  it('a phone change ends every other session and starts a working one', async () => {
    const phone = nextPhone();
    const newPhone = nextPhone();
    const session = await client.register(phone, PASSWORD);
    const elsewhere = await client.loginWithSms(phone);
    const code = await client.code(newPhone, 'registration');
    const changed = (
      await client
        .post(
          '/auth/change-phone',
          { newPhoneNumber: newPhone, code, currentPassword: PASSWORD },
          session.accessToken,
        )
        .expect(200)
    ).body as Session;

    expect(await meOnEach(session)).toEqual([401, 401]);
    expect(await meOnEach(elsewhere)).toEqual([401, 401]);
    expect(await meOnEach(changed)).toEqual([200, 200]);
  });
});

/**
 * Revocations live in Redis for as long as an access token can: a Redis that restarts empty (no
 * persistence, a failover to an empty replica) or is down during a logout must not bring a
 * logged-out session back.
 */
describe('Sessions stay ended when Redis loses its data or is down at logout', () => {
  let fake: FakeTwilioServer;
  let service: TestApp;
  let client: AuthClient;
  let redis: ChildProcess | undefined;
  let redisPort: number;

  beforeAll(async () => {
    [redisPort] = await freePorts(1);
    redis = await startRedisServer(redisPort);
    fake = await FakeTwilioServer.start({
      accountSid: TEST_TWILIO.accountSid,
      authToken: TEST_TWILIO.authToken,
    });
    service = await startTestApp({
      env: {
        ...RELAXED_LIMITS,
        ...authTestEnvironment(fake),
        REDIS_URL: `redis://127.0.0.1:${redisPort}`,
      },
    });
    client = new AuthClient(service, fake);
  });
  afterAll(async () => {
    await service?.close();
    await fake?.stop();
    await stopRedisServer(redis);
  });

  const me = async (session: Session) => (await client.get('/auth/me', session.accessToken)).status;

  /** Until the service's client has reconnected and written the revocations again. */
  async function eventually(check: () => Promise<boolean>): Promise<boolean> {
    const deadline = Date.now() + 10_000;
    while (Date.now() < deadline) {
      if (await check()) return true;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    return false;
  }

  async function restartRedisEmpty(): Promise<void> {
    await stopRedisServer(redis);
    redis = await startRedisServer(redisPort);
    // Serving again, on the empty Redis: a code check needs the limit store.
    expect(await eventually(async () => (await client.get('/health/ready')).status === 200)).toBe(
      true,
    );
  }

  it('a logout and a replayed refresh token still hold after Redis restarts empty', async () => {
    const phone = nextPhone();
    const loggedOut = await client.register(phone, PASSWORD);
    const stolen = await client.loginWithSms(phone);
    const refreshed = (
      await client.post('/auth/refresh', { refreshToken: stolen.refreshToken }).expect(200)
    ).body as Session;
    await client.post('/auth/logout', { refreshToken: loggedOut.refreshToken }).expect(204);
    await client.post('/auth/refresh', { refreshToken: stolen.refreshToken }).expect(401);
    expect([await me(loggedOut), await me(refreshed)]).toEqual([401, 401]);

    await restartRedisEmpty();

    expect([await me(loggedOut), await me(refreshed)]).toEqual([401, 401]);
  });

  it('a logout answered 503 while Redis is down takes effect once it is back, and a retry completes it', async () => {
    const session = await client.register(nextPhone(), PASSWORD);
    await stopRedisServer(redis);
    const whileDown = await client.post('/auth/logout', { refreshToken: session.refreshToken });
    expect(whileDown.status).toBe(503);
    expect(whileDown.headers['retry-after']).toBeDefined();
    // Checked against PostgreSQL meanwhile: the session is over there.
    expect(await me(session)).toBe(401);

    redis = await startRedisServer(redisPort);
    expect(await eventually(async () => (await client.get('/health/ready')).status === 200)).toBe(
      true,
    );
    expect(await me(session)).toBe(401);
    await client.post('/auth/logout', { refreshToken: session.refreshToken }).expect(204);
    expect(await me(session)).toBe(401);
  });
});
