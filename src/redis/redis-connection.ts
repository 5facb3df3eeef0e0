import { Injectable, Logger, OnApplicationShutdown, OnModuleInit } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import Redis, { Cluster, type RedisOptions } from 'ioredis';
import { Configuration } from '../config/configuration';
import { RedisConfig, RedisNodeAddress } from './redis.config';

export type RedisMode = 'single' | 'cluster' | 'in-memory';

/** The same fail-fast budget for a single Redis and for every connection to a cluster node. */
/**
 * Every client also pipelines automatically: the commands of one event-loop turn (concurrent
 * requests' rate-limit scripts) leave in one socket write, where each write is a system call that
 * costs tens of microseconds on these machines (docs/BENCHMARKS.md).
 */
const NODE_OPTIONS: RedisOptions = {
  maxRetriesPerRequest: 1,
  connectTimeout: 2_000,
  commandTimeout: 1_000,
};
const reconnectDelayMs = (attempt: number) => Math.min(attempt * 200, 2_000);

/**
 * The shared Redis client: one Redis (REDIS_URL), a Redis Cluster (REDIS_CLUSTER_NODES), or none
 * (stores then use their in-memory implementation). Commands fail fast while Redis is down (no
 * offline queue) so callers can fail closed instead of waiting; the client reconnects by itself.
 *
 * Both clients take the same commands, but on a cluster every multi-key command and every Lua
 * script must keep its keys in one hash slot (a `{tag}` in the key names), or Redis answers
 * CROSSSLOT.
 */
@Injectable()
export class RedisConnection implements OnModuleInit, OnApplicationShutdown {
  private readonly logger = new Logger('Redis');
  readonly client: Redis | Cluster | null;
  readonly mode: RedisMode;
  readonly keyPrefix: string;
  private readonly config: RedisConfig;
  private reportedDown = false;
  /** Cluster nodes reported unreachable, so each outage is logged once. */
  private readonly nodesReportedDown = new Set<string>();

  constructor(config: ConfigService<Configuration, true>) {
    this.config = config.get('redis', { infer: true });
    this.keyPrefix = this.config.keyPrefix;
    if (this.config.clusterNodes) {
      this.mode = 'cluster';
      this.client = this.createCluster(this.config.clusterNodes);
    } else if (this.config.url) {
      this.mode = 'single';
      this.client = new Redis(this.config.url, {
        ...NODE_OPTIONS,
        lazyConnect: true,
        enableOfflineQueue: false,
        enableAutoPipelining: true,
        retryStrategy: reconnectDelayMs,
      });
    } else {
      this.mode = 'in-memory';
      this.client = null;
    }
    this.client?.on('error', (error: NodeJS.ErrnoException) => {
      if (this.reportedDown) return;
      this.reportedDown = true;
      this.logger.warn(
        { errorCode: error.code, error: error.message },
        'Redis is unreachable; retrying in the background',
      );
    });
    this.client?.on('ready', () => {
      if (this.reportedDown) this.logger.log('Redis connection restored');
      this.reportedDown = false;
    });
  }

  private createCluster(nodes: RedisNodeAddress[]): Cluster {
    const cluster = new Cluster(nodes, {
      lazyConnect: true,
      enableOfflineQueue: false,
      enableAutoPipelining: true,
      clusterRetryStrategy: reconnectDelayMs,
      // MOVED and ASK (resharding) are followed at once; TRYAGAIN, CLUSTERDOWN and a lost node
      // connection (failover) are retried 100 ms apart with a fresh slot map. At most 8 of them
      // keep the wait under a second, after which the caller fails closed as with a single Redis.
      maxRedirections: 8,
      retryDelayOnFailover: 100,
      retryDelayOnClusterDown: 100,
      retryDelayOnTryAgain: 100,
      slotsRefreshTimeout: NODE_OPTIONS.connectTimeout,
      // Learn nodes that came back or were added even when no command was redirected, so the
      // readiness check sees the current primaries.
      slotsRefreshInterval: 5_000,
      redisOptions: NODE_OPTIONS,
    });
    cluster.on('node error', (error: NodeJS.ErrnoException, node: string) => {
      if (this.nodesReportedDown.has(node)) return;
      this.nodesReportedDown.add(node);
      this.logger.warn(
        { node, errorCode: error.code, error: error.message },
        'A Redis Cluster node is unreachable',
      );
    });
    cluster.on('+node', (connection: Redis) => {
      const node = `${connection.options.host}:${connection.options.port}`;
      connection.on('ready', () => {
        if (this.nodesReportedDown.delete(node)) {
          this.logger.log({ node }, 'Redis Cluster node reachable again');
        }
      });
    });
    return cluster;
  }

  async onModuleInit(): Promise<void> {
    if (!this.client) {
      this.logger.warn(
        'REDIS_URL is not set (nor REDIS_CLUSTER_NODES): rate limits and caches use in-memory ' +
          'stores (one instance only)',
      );
      return;
    }
    if (this.client instanceof Cluster) {
      const seedNodes = this.config.clusterNodes?.map(({ host, port }) => `${host}:${port}`);
      this.logger.log(
        { mode: this.mode, seedNodes },
        'Redis: a Redis Cluster (REDIS_CLUSTER_NODES)',
      );
    } else {
      // The host only: the URL may carry a password.
      const node = `${this.client.options.host}:${this.client.options.port}`;
      this.logger.log({ mode: this.mode, node }, 'Redis: a single node (REDIS_URL)');
    }
    // A Redis that is down at boot is not fatal: requests that need it fail closed until it returns.
    await this.client.connect().catch(() => undefined);
  }

  get isReady(): boolean {
    return this.client?.status === 'ready';
  }

  async onApplicationShutdown(): Promise<void> {
    if (!this.client) return;
    await this.client.quit().catch(() => this.client?.disconnect());
  }
}
