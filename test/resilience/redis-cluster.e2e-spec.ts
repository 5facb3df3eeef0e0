import { createHash } from 'node:crypto';
import { CONSUME_SCRIPT } from '../../src/rate-limit/store/redis-consume.script';
import {
  describeRateLimitStoreContract,
  openRedisHarness,
} from '../support/rate-limit-store-contract';
import { ClusterNode, LocalRedisCluster, startLocalRedisCluster } from '../support/redis-cluster';
import {
  LIMITS_UNAVAILABLE,
  LimitedApp,
  RedisEnvironment,
  describeSmsRateLimits,
  expectRateLimited,
  nextPhone,
  providerCallsTo,
  setUpSmsRateLimitApps,
  startLimitedApp,
} from '../support/sms-rate-limits';

/**
 * REDIS_CLUSTER_NODES on a Redis Cluster of three primaries started for this file: the rate-limit
 * suites that run on the machine's single Redis (rate-limit-stores and rate-limit e2e files) run
 * here unchanged, then what only a cluster shows: keys and slots, resharding, a lost primary.
 */

let cluster: LocalRedisCluster | undefined;

function localCluster(): LocalRedisCluster {
  if (!cluster) throw new Error('the Redis Cluster did not start (see beforeAll)');
  return cluster;
}

const onCluster = (): RedisEnvironment => ({
  REDIS_URL: undefined,
  REDIS_CLUSTER_NODES: localCluster().nodeList,
});

beforeAll(async () => {
  cluster = await startLocalRedisCluster();
}, 60_000);
afterAll(async () => {
  await cluster?.stop();
});
setUpSmsRateLimitApps();

describeRateLimitStoreContract('Redis Cluster', () =>
  openRedisHarness(() => localCluster().client()),
);

describeSmsRateLimits('redis', { redis: onCluster, where: ' on a Redis Cluster' });

describe('The service on a Redis Cluster of three primaries', () => {
  const CONSUME_SCRIPT_SHA = createHash('sha1').update(CONSUME_SCRIPT).digest('hex');

  async function startOnCluster(env: Record<string, string> = {}): Promise<LimitedApp> {
    return startLimitedApp('redis', { redis: onCluster(), env });
  }

  /** The hash slot of every rate-limit key: the `{rl}` tag is all that is hashed. */
  async function rateLimitSlot(): Promise<number> {
    return (await localCluster().nodes[0].connection.cluster('KEYSLOT', '{rl}')) as number;
  }

  async function keysOn(node: ClusterNode, pattern: string): Promise<string[]> {
    const found: string[] = [];
    let cursor = '0';
    do {
      const [next, keys] = await node.connection.scan(cursor, 'MATCH', pattern, 'COUNT', 500);
      found.push(...keys);
      cursor = next;
    } while (cursor !== '0');
    return found;
  }

  async function scriptCachedOn(node: ClusterNode): Promise<boolean> {
    const [exists] = (await node.connection.script('EXISTS', CONSUME_SCRIPT_SHA)) as number[];
    return exists === 1;
  }

  it('boots in cluster mode, logs it, and reports the cluster on /health/ready', async () => {
    const app = await startOnCluster();

    expect(app.service.logs).toContainEqual(
      expect.objectContaining({
        context: 'Redis',
        msg: 'Redis: a Redis Cluster (REDIS_CLUSTER_NODES)',
        mode: 'cluster',
        seedNodes: localCluster().nodeList.split(','),
      }),
    );
    const ready = await app.service.http().get('/health/ready').expect(200);
    expect(ready.body.details.redis).toEqual({ status: 'up', mode: 'cluster', primaries: 3 });
    await app.send(nextPhone()).expect(200);
  });

  it('keeps rate-limit keys in the {rl} slot while cached lookups spread over the primaries', async () => {
    const app = await startOnCluster({ TWILIO_LOOKUP_ENABLED: 'true' });
    const prefix = app.service.redisKeyPrefix;
    for (let send = 0; send < 12; send += 1) await app.send(nextPhone()).expect(200);

    const slot = await rateLimitSlot();
    const owner = await localCluster().ownerOf(slot);
    const rateLimitKeys = await keysOn(owner, `${prefix}{rl}:*`);
    expect(rateLimitKeys.length).toBeGreaterThanOrEqual(5);
    for (const key of rateLimitKeys) {
      expect(await owner.connection.cluster('KEYSLOT', key)).toBe(slot);
    }
    const lookupNodes = [];
    for (const node of localCluster().nodes) {
      if (node !== owner) expect(await keysOn(node, `${prefix}{rl}:*`)).toEqual([]);
      if ((await keysOn(node, `${prefix}lookup:*`)).length > 0) lookupNodes.push(node.port);
    }
    // Twelve untagged keys on one node of three would be a 1 in 177,000 coincidence.
    expect(lookupNodes.length).toBeGreaterThanOrEqual(2);
  });

  it('follows the {rl} slot to another primary with its counters (resharding)', async () => {
    const app = await startOnCluster({
      SMS_RATE_LIMIT_MAX_ATTEMPTS: '5',
      SMS_RESEND_COOLDOWNS: '0',
    });
    const phoneNumber = nextPhone();
    for (let send = 0; send < 3; send += 1) await app.send(phoneNumber).expect(200);

    const slot = await rateLimitSlot();
    const source = await localCluster().ownerOf(slot);
    const target = localCluster().nodes.find((node) => node !== source)!;
    expect(await scriptCachedOn(target)).toBe(false);
    await localCluster().moveSlot(slot, target);

    // The app still sends to the old owner: MOVED takes it to the new one, whose empty script
    // cache answers NOSCRIPT to EVALSHA, and EVAL loads the script there.
    await app.send(phoneNumber).expect(200);
    await app.send(phoneNumber).expect(200);
    expectRateLimited(await app.send(phoneNumber), 900);
    expect(providerCallsTo(phoneNumber)).toBe(5);
    expect(await scriptCachedOn(target)).toBe(true);
    expect(await keysOn(source, `${app.service.redisKeyPrefix}*`)).toEqual([]);
  });

  // Last: it stops a node. With no replica to promote, the slots of a lost primary are gone.
  it('fails closed while the primary of {rl} is down and recovers when it returns', async () => {
    const app = await startOnCluster({
      SMS_RATE_LIMIT_MAX_ATTEMPTS: '5',
      SMS_RESEND_COOLDOWNS: '0',
    });
    const phoneNumber = nextPhone();
    await app.send(phoneNumber).expect(200);
    const owner = await localCluster().ownerOf(await rateLimitSlot());

    await owner.stop();

    const refused = await app.send(phoneNumber);
    expect(refused.status).toBe(503);
    expect(refused.body).toEqual({ ...LIMITS_UNAVAILABLE, retryAfter: 5 });
    expect(providerCallsTo(phoneNumber)).toBe(1);
    const notReady = await app.service.http().get('/health/ready').expect(503);
    expect(notReady.body.details.redis).toEqual({
      status: 'down',
      mode: 'cluster',
      message: '1 of 3 Redis Cluster primaries unreachable',
    });
    await app.service.http().get('/health').expect(200);

    await owner.start();

    // The restarted primary is empty; the client finds it again by itself.
    const recovered = nextPhone();
    await eventually(async () => (await app.send(recovered)).status === 200);
    for (let send = 0; send < 4; send += 1) await app.send(recovered).expect(200);
    expectRateLimited(await app.send(recovered));
    expect(providerCallsTo(recovered)).toBe(5);
    await eventually(async () => (await app.service.http().get('/health/ready')).status === 200);
  }, 60_000);
});

async function eventually(condition: () => Promise<boolean>, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}
