import { HealthIndicatorService } from '@nestjs/terminus';
import Redis, { Cluster } from 'ioredis';
import { RedisConnection } from '../redis/redis-connection';
import { RedisHealthIndicator } from './redis.health';

type NodeAnswer = 'ok' | 'fail' | 'unreachable';

/**
 * A real (never connected) Cluster whose slot map names three primaries, and fake connections
 * to them answering CLUSTER INFO as given; a primary without a connection is one the client lost.
 */
function clusterWith(status: string, answers: Record<string, NodeAnswer | 'no connection'>) {
  const cluster = new Cluster([{ host: '10.0.0.11', port: 6379 }], { lazyConnect: true });
  Object.assign(cluster, { status });
  const primaries = Object.keys(answers);
  cluster.slots = Array.from({ length: 16_384 }, (_, slot) => [
    primaries[Math.floor((slot * primaries.length) / 16_384)],
  ]);
  const nodes = Object.entries(answers)
    .filter(([, answer]) => answer !== 'no connection')
    .map(([key, answer]) => {
      const [host, port] = key.split(':');
      return {
        options: { host, port: Number(port) },
        cluster: async () => {
          if (answer === 'unreachable') throw new Error('Connection is closed.');
          return `cluster_state:${answer}\r\ncluster_slots_assigned:16384\r\n`;
        },
      };
    });
  jest.spyOn(cluster, 'nodes').mockReturnValue(nodes as unknown as Redis[]);
  return cluster;
}

function indicatorFor(client: Redis | Cluster | null): RedisHealthIndicator {
  return new RedisHealthIndicator(
    { client } as unknown as RedisConnection,
    new HealthIndicatorService(),
  );
}

const [A, B, C] = ['10.0.0.11:6379', '10.0.0.12:6379', '10.0.0.13:6379'];

describe('RedisHealthIndicator on a Redis Cluster', () => {
  afterEach(() => jest.restoreAllMocks());

  it('is up, with the number of primaries, when every primary sees the cluster ok', async () => {
    const cluster = clusterWith('ready', { [A]: 'ok', [B]: 'ok', [C]: 'ok' });

    expect(await indicatorFor(cluster).check('redis')).toEqual({
      redis: { status: 'up', mode: 'cluster', primaries: 3 },
    });
  });

  it.each<[string, Record<string, NodeAnswer | 'no connection'>]>([
    ['does not answer', { [A]: 'ok', [B]: 'unreachable', [C]: 'ok' }],
    ['was dropped by the client', { [A]: 'ok', [B]: 'ok', [C]: 'no connection' }],
  ])('is down, naming no node, when a primary %s', async (_case, answers) => {
    const result = await indicatorFor(clusterWith('ready', answers)).check('redis');

    expect(result).toEqual({
      redis: {
        status: 'down',
        mode: 'cluster',
        message: '1 of 3 Redis Cluster primaries unreachable',
      },
    });
  });

  it('is down when a primary reports the cluster failing', async () => {
    const cluster = clusterWith('ready', { [A]: 'ok', [B]: 'fail', [C]: 'ok' });

    expect(await indicatorFor(cluster).check('redis')).toEqual({
      redis: { status: 'down', mode: 'cluster', message: 'Redis Cluster state is fail' },
    });
  });

  it('is down while the client has no working connection to the cluster', async () => {
    const cluster = clusterWith('reconnecting', { [A]: 'ok', [B]: 'ok', [C]: 'ok' });

    expect(await indicatorFor(cluster).check('redis')).toEqual({
      redis: { status: 'down', mode: 'cluster', message: 'Redis Cluster is unreachable' },
    });
  });
});
