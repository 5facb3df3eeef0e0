import Redis, { Cluster } from 'ioredis';
import { ChildProcess, execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { LOOPBACK, freePorts, startRedisServer, stopRedisServer } from './redis-server';

/**
 * A throw-away Redis Cluster of three primaries on loopback: redis-server processes on free
 * ports in a temporary directory, joined by `redis-cli --cluster create`. Nothing is shared with
 * the machine's Redis, so a test may stop a node or move slots.
 */
export interface LocalRedisCluster {
  nodes: ClusterNode[];
  /** The REDIS_CLUSTER_NODES value naming every node. */
  nodeList: string;
  /** A client of the whole cluster, for assertions; closed by stop(). */
  client(): Cluster;
  /** The node that owns a hash slot now. */
  ownerOf(slot: number): Promise<ClusterNode>;
  /** Reshards one slot with its keys onto another node (CLUSTER SETSLOT … MIGRATE). */
  moveSlot(slot: number, target: ClusterNode): Promise<void>;
  /** Kills every node and removes the directory; safe to call twice and after a failed start. */
  stop(): Promise<void>;
}

export interface ClusterNode {
  port: number;
  /** A plain connection to this node only (no redirections); closed by stop(). */
  connection: Redis;
  /** Stops the process (SIGTERM); start() brings it back with the same identity and slots. */
  stop(): Promise<void>;
  start(): Promise<void>;
}

const run = promisify(execFile);
/**
 * A test may stop a node: ioredis then leaves a timer per closed connection for up to
 * disconnectTimeout (2 s by default), which keeps Jest from exiting.
 */
const SHORT_TIMERS = { connectTimeout: 1_000, disconnectTimeout: 200 };

async function waitFor(
  condition: () => Promise<boolean>,
  what: string,
  timeoutMs = 20_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition().catch(() => false))) {
    if (Date.now() > deadline) throw new Error(`Redis Cluster: ${what} within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

export async function startLocalRedisCluster(size = 3): Promise<LocalRedisCluster> {
  const directory = mkdtempSync(join(tmpdir(), 'sms-redis-cluster-'));
  const processes = new Map<number, ChildProcess>();
  const connections: Redis[] = [];
  const clients: Cluster[] = [];
  // A crashed test process must not leave servers behind; 'exit' handlers may only be synchronous.
  const killAll = () => processes.forEach((child) => child.kill('SIGKILL'));
  process.once('exit', killAll);

  async function startProcess(port: number, busPort: number): Promise<void> {
    // The bus port is chosen too: the default (port + 10000) may be taken or above 65535.
    const child = await startRedisServer(port, {
      'cluster-enabled': 'yes',
      'cluster-port': busPort,
      'cluster-config-file': join(directory, `nodes-${port}.conf`),
      dir: directory,
    });
    processes.set(port, child);
  }

  async function stopProcess(port: number): Promise<void> {
    const child = processes.get(port);
    processes.delete(port);
    await stopRedisServer(child);
  }

  let stopped = false;
  async function stop(): Promise<void> {
    if (stopped) return;
    stopped = true;
    for (const client of clients) client.disconnect();
    for (const connection of connections) connection.disconnect();
    await Promise.all([...processes.keys()].map(stopProcess));
    process.removeListener('exit', killAll);
    rmSync(directory, { recursive: true, force: true });
  }

  try {
    const ports = await freePorts(size * 2);
    const nodes: ClusterNode[] = ports.slice(0, size).map((port, index) => {
      const busPort = ports[size + index];
      const connection = new Redis({
        host: LOOPBACK,
        port,
        lazyConnect: true,
        maxRetriesPerRequest: 1,
        ...SHORT_TIMERS,
      });
      connection.on('error', () => undefined);
      connections.push(connection);
      return {
        port,
        connection,
        stop: () => stopProcess(port),
        start: () => startProcess(port, busPort),
      };
    });
    // Settled, not Promise.all: a node still starting after another failed must be stopped too.
    const started = await Promise.allSettled(nodes.map((node) => node.start()));
    const failed = started.find((result) => result.status === 'rejected');
    if (failed) throw failed.reason;
    const addresses = nodes.map((node) => `${LOOPBACK}:${node.port}`);
    await run(
      'redis-cli',
      ['--cluster', 'create', ...addresses, '--cluster-replicas', '0', '--cluster-yes'],
      { timeout: 30_000 },
    );
    for (const node of nodes) {
      await waitFor(
        async () => /cluster_state:ok/.test((await node.connection.cluster('INFO')) as string),
        `cluster_state:ok on :${node.port}`,
      );
    }

    const nodeId = (node: ClusterNode) => node.connection.cluster('MYID') as Promise<string>;
    /** Asks each running node in turn: a test may have stopped one. */
    const ownerOf = async (slot: number): Promise<ClusterNode> => {
      for (const node of nodes.filter(({ port }) => processes.has(port))) {
        const ranges = (await node.connection.cluster('SLOTS').catch(() => [])) as [
          number,
          number,
          [string, number],
        ][];
        const range = ranges.find(([first, last]) => first <= slot && slot <= last);
        const owner = nodes.find(({ port }) => port === range?.[2][1]);
        if (owner) return owner;
      }
      throw new Error(`no node owns slot ${slot}`);
    };

    return {
      nodes,
      nodeList: addresses.join(','),
      client() {
        const client = new Cluster(
          nodes.map((node) => ({ host: LOOPBACK, port: node.port })),
          { redisOptions: { maxRetriesPerRequest: 1, ...SHORT_TIMERS } },
        );
        client.on('error', () => undefined);
        clients.push(client);
        return client;
      },
      ownerOf,
      async moveSlot(slot, target) {
        const source = await ownerOf(slot);
        if (source === target) return;
        const [sourceId, targetId] = await Promise.all([nodeId(source), nodeId(target)]);
        // https://redis.io/docs/latest/commands/cluster-setslot/ (the resharding sequence)
        await target.connection.cluster('SETSLOT', slot, 'IMPORTING', sourceId);
        await source.connection.cluster('SETSLOT', slot, 'MIGRATING', targetId);
        for (;;) {
          const keys = (await source.connection.cluster('GETKEYSINSLOT', slot, 100)) as string[];
          if (keys.length === 0) break;
          await source.connection.call(
            'MIGRATE',
            LOOPBACK,
            target.port,
            '',
            0,
            5_000,
            'KEYS',
            ...keys,
          );
        }
        for (const node of [target, source, ...nodes.filter((n) => n !== target && n !== source)]) {
          await node.connection.cluster('SETSLOT', slot, 'NODE', targetId);
        }
        await waitFor(async () => (await ownerOf(slot)) === target, `slot ${slot} moved`);
      },
      stop,
    };
  } catch (error) {
    await stop();
    throw error;
  }
}
