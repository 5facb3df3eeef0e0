import { Injectable } from '@nestjs/common';
import { HealthIndicatorResult, HealthIndicatorService } from '@nestjs/terminus';
import { Cluster } from 'ioredis';
import { RedisConnection } from '../redis/redis-connection';

@Injectable()
export class RedisHealthIndicator {
  constructor(
    private readonly redis: RedisConnection,
    private readonly indicators: HealthIndicatorService,
  ) {}

  async check(key = 'redis'): Promise<HealthIndicatorResult> {
    const indicator = this.indicators.check(key);
    const client = this.redis.client;
    if (!client) return indicator.up({ mode: 'in-memory (REDIS_URL not set)' });
    if (client instanceof Cluster) {
      const problem = await clusterProblem(client);
      return problem
        ? indicator.down({ mode: 'cluster', message: problem })
        : indicator.up({ mode: 'cluster', primaries: primaryKeys(client).length });
    }
    try {
      await client.ping();
      return indicator.up();
    } catch {
      return indicator.down({ message: 'Redis is unreachable' });
    }
  }
}

/**
 * A cluster is ready when every primary that owns slots answers and sees the cluster as `ok`.
 * One lost primary makes its slots fail (with no replica to promote), and the cluster refuses
 * every command once it notices, so readiness says so at once rather than after the node timeout.
 */
async function clusterProblem(cluster: Cluster): Promise<string | undefined> {
  if (cluster.status !== 'ready') return 'Redis Cluster is unreachable';
  const primaries = primaryKeys(cluster);
  const connections = new Map(
    cluster.nodes('all').map((node) => [`${node.options.host}:${node.options.port}`, node]),
  );
  const states = await Promise.all(
    primaries.map(async (primary) => {
      const node = connections.get(primary);
      if (!node) return 'unreachable';
      try {
        const info = (await node.cluster('INFO')) as string;
        return /^cluster_state:(\w+)/m.exec(info)?.[1] ?? 'unknown';
      } catch {
        return 'unreachable';
      }
    }),
  );
  const unreachable = primaries.filter((_, index) => states[index] === 'unreachable');
  if (unreachable.length > 0) {
    // Counts only: the probe is public, node addresses go to the log ('node error').
    return `${unreachable.length} of ${primaries.length} Redis Cluster primaries unreachable`;
  }
  const failing = states.find((state) => state !== 'ok');
  return failing ? `Redis Cluster state is ${failing}` : undefined;
}

/** host:port of each node the client's slot map names as the primary of some slot. */
function primaryKeys(cluster: Cluster): string[] {
  const primaries = new Set<string>();
  for (const owners of cluster.slots) if (owners?.[0]) primaries.add(owners[0]);
  return [...primaries].sort();
}
