import { isIPv6 } from 'node:net';
import { RedisEnvironment } from './redis.environment';

export interface RedisNodeAddress {
  host: string;
  port: number;
}

/**
 * At most one of `url` and `clusterNodes` is set; with neither, stores that would use Redis use
 * their in-memory implementation.
 */
export interface RedisConfig {
  /** A single Redis (REDIS_URL). */
  url?: string;
  /** Seed nodes of a Redis Cluster (REDIS_CLUSTER_NODES); the client discovers the others. */
  clusterNodes?: RedisNodeAddress[];
  /** Prefix of every key, so several deployments (or test files) can share one Redis. */
  keyPrefix: string;
}

const HOST_NAME = /^[A-Za-z0-9._-]+$/;

export function redisConfigFromEnvironment(
  environment: RedisEnvironment,
  problems: string[],
): RedisConfig {
  const clusterNodes =
    environment.REDIS_CLUSTER_NODES === undefined
      ? undefined
      : parseClusterNodes(environment.REDIS_CLUSTER_NODES, problems);
  if (clusterNodes && environment.REDIS_URL) {
    // Refused rather than ranked: an operator who sets both has left one behind by mistake, and
    // picking either silently would split the instances' counters between two Redis deployments.
    problems.push(
      'REDIS_CLUSTER_NODES: REDIS_URL is set too; set REDIS_URL for a single Redis or ' +
        'REDIS_CLUSTER_NODES for a Redis Cluster, not both',
    );
  }
  if (clusterNodes && /[{}]/.test(environment.REDIS_KEY_PREFIX)) {
    // On a cluster, keys that one Lua script touches must share a hash slot; the stores put a
    // `{tag}` in their keys for that, and a brace in the prefix would come first and win
    // (https://redis.io/docs/latest/operate/oss_and_stack/reference/cluster-spec/#hash-tags).
    problems.push(
      'REDIS_KEY_PREFIX: must not contain { or } with REDIS_CLUSTER_NODES (the service sets the ' +
        'hash tags that keep related keys in one cluster slot)',
    );
  }
  return {
    url: environment.REDIS_URL,
    clusterNodes,
    keyPrefix: environment.REDIS_KEY_PREFIX,
  };
}

/** `host:port,host:port`; an IPv6 address goes in brackets, `[::1]:7000`. Repeats are dropped. */
function parseClusterNodes(value: string, problems: string[]): RedisNodeAddress[] {
  const nodes = new Map<string, RedisNodeAddress>();
  for (const entry of value.split(',').map((part) => part.trim())) {
    const separator = entry.lastIndexOf(':');
    const rawHost = entry.slice(0, separator);
    const port = Number(entry.slice(separator + 1));
    const bracketed = /^\[(.+)\]$/.exec(rawHost);
    const host = bracketed ? bracketed[1] : rawHost;
    if (bracketed ? !isIPv6(host) : !HOST_NAME.test(host)) {
      problems.push(
        `REDIS_CLUSTER_NODES: "${entry}" is not host:port (a host name or IP address, no scheme; ` +
          'an IPv6 address goes in brackets, e.g. [::1]:7000)',
      );
      continue;
    }
    if (!Number.isInteger(port) || port < 1 || port > 65_535) {
      problems.push(`REDIS_CLUSTER_NODES: the port of "${entry}" must be between 1 and 65535`);
      continue;
    }
    nodes.set(`${host.toLowerCase()}:${port}`, { host, port });
  }
  return [...nodes.values()];
}
