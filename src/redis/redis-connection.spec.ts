import { Logger } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import Redis, { Cluster } from 'ioredis';
import { Configuration } from '../config/configuration';
import { loadConfiguration } from '../config/load-configuration';
import { RedisConnection } from './redis-connection';

/** Clients are lazy: nothing here opens a connection (connect() is stubbed where it would). */
function connectionFor(environment: Record<string, string>): RedisConnection {
  const configuration = loadConfiguration(environment);
  const config = { get: (key: keyof Configuration) => configuration[key] };
  return new RedisConnection(config as unknown as ConfigService<Configuration, true>);
}

describe('RedisConnection', () => {
  let logged: jest.SpyInstance;
  let warned: jest.SpyInstance;
  const opened: RedisConnection[] = [];

  beforeEach(() => {
    logged = jest.spyOn(Logger.prototype, 'log').mockImplementation(() => undefined);
    warned = jest.spyOn(Logger.prototype, 'warn').mockImplementation(() => undefined);
  });
  afterEach(() => {
    jest.restoreAllMocks();
    while (opened.length > 0) opened.pop()?.client?.disconnect();
  });

  function open(environment: Record<string, string>): RedisConnection {
    const connection = connectionFor(environment);
    opened.push(connection);
    if (connection.client) jest.spyOn(connection.client, 'connect').mockResolvedValue(undefined);
    return connection;
  }

  it('has no client without REDIS_URL or REDIS_CLUSTER_NODES, and says so at boot', async () => {
    const connection = open({});
    await connection.onModuleInit();

    expect(connection.mode).toBe('in-memory');
    expect(connection.client).toBeNull();
    expect(warned).toHaveBeenCalledWith(expect.stringMatching(/^REDIS_URL is not set.*in-memory/));
  });

  it('fails fast on a single Redis and logs its host, never the password in the URL', async () => {
    const connection = open({ REDIS_URL: 'redis://:pa55word-7@cache.internal:6380' });
    await connection.onModuleInit();

    expect(connection.mode).toBe('single');
    expect(connection.client).toBeInstanceOf(Redis);
    expect((connection.client as Redis).options).toMatchObject({
      lazyConnect: true,
      enableOfflineQueue: false,
      maxRetriesPerRequest: 1,
      connectTimeout: 2_000,
      commandTimeout: 1_000,
    });
    expect(logged).toHaveBeenCalledWith(
      { mode: 'single', node: 'cache.internal:6380' },
      'Redis: a single node (REDIS_URL)',
    );
    expect(JSON.stringify([logged.mock.calls, warned.mock.calls])).not.toContain('pa55word');
  });

  it('fails fast on a Redis Cluster with the same timeouts, and logs the seed nodes', async () => {
    const connection = open({ REDIS_CLUSTER_NODES: '10.0.0.11:6379,10.0.0.12:6379' });
    await connection.onModuleInit();

    expect(connection.mode).toBe('cluster');
    expect(connection.client).toBeInstanceOf(Cluster);
    const { options } = connection.client as Cluster;
    expect(options).toMatchObject({
      lazyConnect: true,
      enableOfflineQueue: false,
      redisOptions: { maxRetriesPerRequest: 1, connectTimeout: 2_000, commandTimeout: 1_000 },
    });
    // Retries of redirections and failovers end within a second; reconnects back off to 2 s.
    expect(options.maxRedirections! * options.retryDelayOnFailover!).toBeLessThanOrEqual(1_000);
    expect([1, 5, 50].map((attempt) => options.clusterRetryStrategy!(attempt))).toEqual([
      200, 1_000, 2_000,
    ]);
    expect(logged).toHaveBeenCalledWith(
      { mode: 'cluster', seedNodes: ['10.0.0.11:6379', '10.0.0.12:6379'] },
      'Redis: a Redis Cluster (REDIS_CLUSTER_NODES)',
    );
  });

  it.each([
    ['a single Redis', { REDIS_URL: 'redis://127.0.0.1:6379' }],
    ['a Redis Cluster', { REDIS_CLUSTER_NODES: '127.0.0.1:7000' }],
  ])('reports an outage of %s once and its end once', (_mode, environment) => {
    const client = open(environment).client!;

    client.emit(
      'error',
      Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }),
    );
    client.emit('error', new Error('connect ECONNREFUSED'));
    client.emit('ready');
    client.emit('ready');

    expect(warned.mock.calls).toEqual([
      [
        { errorCode: 'ECONNREFUSED', error: 'connect ECONNREFUSED' },
        'Redis is unreachable; retrying in the background',
      ],
    ]);
    expect(logged.mock.calls).toEqual([['Redis connection restored']]);
  });

  it('reports each unreachable cluster node once, and when it answers again', () => {
    const cluster = open({ REDIS_CLUSTER_NODES: '127.0.0.1:7000' }).client as Cluster;
    const node = new Redis({ host: '127.0.0.1', port: 7001, lazyConnect: true });

    cluster.emit('+node', node);
    cluster.emit('node error', new Error('connect ECONNREFUSED'), '127.0.0.1:7001');
    cluster.emit('node error', new Error('connect ECONNREFUSED'), '127.0.0.1:7001');
    node.emit('ready');
    node.emit('ready');

    expect(warned.mock.calls).toEqual([
      [
        { node: '127.0.0.1:7001', errorCode: undefined, error: 'connect ECONNREFUSED' },
        'A Redis Cluster node is unreachable',
      ],
    ]);
    expect(logged.mock.calls).toEqual([
      [{ node: '127.0.0.1:7001' }, 'Redis Cluster node reachable again'],
    ]);
    node.disconnect();
  });
});
