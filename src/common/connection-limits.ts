import { Logger } from '@nestjs/common';
import { readFileSync } from 'node:fs';
import type { Server } from 'node:net';
import { BlockList, isIPv4 } from 'node:net';
import { SystemClock } from './clock';
import { OutageLog } from './errors/outage-log';

/**
 * The descriptor limit of this process (`ulimit -n`, the soft limit), or undefined where it
 * cannot be read (not Linux) or is unlimited.
 */
export function descriptorLimit(limits = '/proc/self/limits'): number | undefined {
  try {
    const line = /^Max open files\s+(\d+)\s/m.exec(readFileSync(limits, 'utf8'));
    return line ? Number(line[1]) : undefined;
  } catch {
    return undefined;
  }
}

/**
 * HTTP_MAX_CONNECTIONS=0: three quarters of the descriptor limit for clients, the rest for the
 * process's own (database pools, Redis, Twilio, files). Unknown limit: no cap.
 */
export function automaticConnectionCap(descriptors: number | undefined): number | undefined {
  return descriptors === undefined ? undefined : Math.max(1, Math.floor(descriptors * 0.75));
}

/**
 * A peer that TRUST_PROXY names as our own proxy speaks for many clients, so it is never capped
 * per address: `true` or a hop count (1 or more) trust every peer, a list its addresses and
 * subnets.
 */
export function trustedProxyMatcher(
  trustProxy: boolean | number | string[],
): (address: string) => boolean {
  if (trustProxy === false || trustProxy === 0) return () => false;
  if (!Array.isArray(trustProxy)) return () => true;
  const proxies = new BlockList();
  for (const entry of trustProxy) {
    const [address, prefix] = entry.split('/');
    const type = isIPv4(address) ? 'ipv4' : 'ipv6';
    if (prefix === undefined) proxies.addAddress(address, type);
    else proxies.addSubnet(address, Number(prefix), type);
  }
  return (address) => proxies.check(address, isIPv4(address) ? 'ipv4' : 'ipv6');
}

export interface ConnectionLimits {
  /** Connections open at once, server-wide; undefined: no cap. */
  maxConnections?: number;
  maxConnectionsPerClient: number;
  /** Peers exempt from the per-client cap (our own proxies). */
  isProxy: (address: string) => boolean;
  /** Which peer addresses count as one client (an IPv6 /64 is one, see clientAddressGroup). */
  groupOf: (address: string) => string;
}

/**
 * Keeps a flood of connections from taking the server down: past `maxConnections` new
 * connections are closed at once (Node's own `server.maxConnections`), so descriptors stay for
 * the connections being served, the database and Twilio; past `maxConnectionsPerClient` from one
 * client, that client's new connections are closed at once, so one address cannot take the whole
 * server-wide allowance. An error accepting a connection (out of descriptors anyway) is logged
 * and the server keeps listening: without a listener, Node would end the process with it.
 * Refusals and accept errors are logged once per cause every 30 s, with the count, and without
 * client addresses.
 */
export function limitConnections(server: Server, limits: ConnectionLimits, logger: Logger): void {
  const refusals = new OutageLog(new SystemClock());
  const report = (cause: string, fields: Record<string, unknown>, message: string) => {
    const { log, unlogged } = refusals.record(cause);
    if (log) logger.warn({ ...fields, repeatsSinceLastLine: unlogged }, message);
  };

  if (limits.maxConnections !== undefined) server.maxConnections = limits.maxConnections;
  server.on('drop', () =>
    report(
      'server-wide',
      { limit: limits.maxConnections },
      'connection refused: HTTP_MAX_CONNECTIONS connections are open',
    ),
  );

  const { groupOf } = limits;
  const open = new Map<string, number>();
  // Before the HTTP server's own listener: a refused connection is closed before a byte is read.
  server.prependListener('connection', (socket) => {
    const address = socket.remoteAddress;
    if (address === undefined || limits.isProxy(address)) return;
    const group = groupOf(address);
    const count = (open.get(group) ?? 0) + 1;
    if (count > limits.maxConnectionsPerClient) {
      socket.destroy();
      report(
        'per-client',
        { limit: limits.maxConnectionsPerClient },
        'connection refused: a client holds HTTP_MAX_CONNECTIONS_PER_CLIENT connections',
      );
      return;
    }
    open.set(group, count);
    socket.once('close', () => {
      const left = (open.get(group) ?? 1) - 1;
      if (left > 0) open.set(group, left);
      else open.delete(group);
    });
  });

  server.on('error', (error: NodeJS.ErrnoException) => {
    // Listen errors (EADDRINUSE) reject listen() itself; anything later must not end the process.
    if (!server.listening) return;
    report(
      `error ${error.code}`,
      { errorCode: error.code, syscall: error.syscall },
      'HTTP server error; still listening',
    );
  });
}
