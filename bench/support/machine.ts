import { readFileSync, readdirSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import type { Client } from 'pg';

/** Clock ticks per second of /proc's CPU times (USER_HZ; 100 on Linux). */
const TICKS_PER_SECOND = 100;

export interface CpuSnapshot {
  machineTicks: number;
  idleTicks: number;
  /** Interrupt and softirq time (loopback TCP is processed there), charged to no process. */
  interruptTicks: number;
  /** CPU ticks per process, with the group it belongs to. */
  processes: Map<number, { group: string; ticks: number }>;
}

export interface CpuUsage {
  /** Share of both cores that was busy, 0-100. */
  machineBusyPercent: number;
  /** CPU milliseconds each group spent per request of the load. */
  msPerRequest: Record<string, number>;
  /** Cores each group kept busy on average. */
  cores: Record<string, number>;
}

/**
 * CPU time of the processes that share this machine during a run: the app, PostgreSQL (every
 * backend; ones that exit mid-run are missing), Redis, the fake Twilio and this load generator.
 */
export function cpuSnapshot(pids: { app: number; fakeTwilio?: number }): CpuSnapshot {
  const [, ...fields] = readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/);
  const ticks = fields.map(Number);
  const processes = new Map<number, { group: string; ticks: number }>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const pid = Number(entry);
    let stat: string;
    try {
      stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    } catch {
      continue;
    }
    const command = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
    const after = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const used = Number(after[11]) + Number(after[12]);
    const group =
      pid === pids.app
        ? 'app'
        : pid === pids.fakeTwilio
          ? 'fake Twilio'
          : command === 'postgres'
            ? 'postgres'
            : command.startsWith('redis-server')
              ? 'redis'
              : pid === process.pid
                ? 'load generator'
                : undefined;
    if (group) processes.set(pid, { group, ticks: used });
  }
  return {
    machineTicks: ticks.reduce((sum, value) => sum + value, 0),
    idleTicks: ticks[3] + (ticks[4] ?? 0),
    interruptTicks: (ticks[5] ?? 0) + (ticks[6] ?? 0),
    processes,
  };
}

export function cpuUsage(
  before: CpuSnapshot,
  after: CpuSnapshot,
  requests: number,
  seconds: number,
): CpuUsage {
  const machine = after.machineTicks - before.machineTicks;
  const idle = after.idleTicks - before.idleTicks;
  // Per process, so a backend that exits mid-run (pool idle timeout) only goes missing instead
  // of taking its whole past off the total.
  const used: Record<string, number> = { app: 0, postgres: 0, redis: 0, 'fake Twilio': 0 };
  for (const [pid, { group, ticks }] of after.processes) {
    used[group] = (used[group] ?? 0) + ticks - (before.processes.get(pid)?.ticks ?? 0);
  }
  used['kernel interrupts'] = after.interruptTicks - before.interruptTicks;
  // Whatever else ran meanwhile: other users' processes on a shared machine, kernel threads.
  used.other = Math.max(
    0,
    machine - idle - Object.values(used).reduce((sum, ticks) => sum + ticks, 0),
  );
  const msPerRequest: Record<string, number> = {};
  const cores: Record<string, number> = {};
  for (const [group, ticks] of Object.entries(used)) {
    msPerRequest[group] =
      requests === 0 ? 0 : Math.round(((ticks / TICKS_PER_SECOND) * 1000 * 100) / requests) / 100;
    cores[group] = Math.round((ticks / TICKS_PER_SECOND / seconds) * 100) / 100;
  }
  return {
    machineBusyPercent: machine === 0 ? 0 : Math.round(((machine - idle) / machine) * 1000) / 10,
    msPerRequest,
    cores,
  };
}

export interface PoolUsage {
  /** The app's connections to its database: most seen at once, and how many were running SQL. */
  peakConnections: number;
  peakBusy: number;
  meanBusy: number;
  samples: number;
}

/** Samples pg_stat_activity every 100 ms for the app's connections (application_name). */
export function samplePool(client: Client, database: string): { stop(): Promise<PoolUsage> } {
  const usage = { peakConnections: 0, peakBusy: 0, busyTotal: 0, samples: 0 };
  let running = true;
  const loop = (async () => {
    while (running) {
      const { rows } = await client.query<{ connections: string; busy: string }>(
        `SELECT count(*) AS connections, count(*) FILTER (WHERE state <> 'idle') AS busy
           FROM pg_stat_activity WHERE datname = $1 AND application_name = 'sms-verification'`,
        [database],
      );
      const connections = Number(rows[0].connections);
      const busy = Number(rows[0].busy);
      usage.peakConnections = Math.max(usage.peakConnections, connections);
      usage.peakBusy = Math.max(usage.peakBusy, busy);
      usage.busyTotal += busy;
      usage.samples += 1;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  })();
  return {
    async stop() {
      running = false;
      await loop;
      return {
        peakConnections: usage.peakConnections,
        peakBusy: usage.peakBusy,
        meanBusy: usage.samples === 0 ? 0 : Math.round((usage.busyTotal / usage.samples) * 10) / 10,
        samples: usage.samples,
      };
    },
  };
}

export interface MachineDescription {
  cpu: string;
  cores: number;
  memoryGiB: number;
  kernel: string;
  node: string;
  postgres: string;
  redis: string;
}

export async function describeMachine(
  client: Client,
  redisInfo: string,
): Promise<MachineDescription> {
  const { rows } = await client.query<{ version: string }>(
    `SELECT current_setting('server_version') AS version`,
  );
  return {
    cpu: cpus()[0]?.model ?? 'unknown',
    cores: cpus().length,
    memoryGiB: Math.round(totalmem() / 2 ** 30),
    kernel: readFileSync('/proc/version', 'utf8').split(' ').slice(0, 3).join(' '),
    node: process.version,
    postgres: rows[0].version,
    redis: /redis_version:(\S+)/.exec(redisInfo)?.[1] ?? 'unknown',
  };
}

/**
 * Cores kept busy by everything on the machine over `ms` (the benchmark's own processes idle
 * meanwhile, so this is other users' load on a shared machine).
 */
export async function backgroundCores(ms = 1_000): Promise<number> {
  const read = () => {
    const ticks = readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1);
    const values = ticks.map(Number);
    return { total: values.reduce((sum, value) => sum + value, 0), idle: values[3] + values[4] };
  };
  const before = read();
  await new Promise((resolve) => setTimeout(resolve, ms));
  const after = read();
  const total = after.total - before.total;
  const busy = total - (after.idle - before.idle);
  return total === 0 ? 0 : Math.round((busy / total) * cpus().length * 100) / 100;
}

/**
 * Waits, within what is left of `budget.ms`, until other processes use less than `threshold`
 * cores, so a measurement does not start in the middle of someone else's test run. Returns the
 * background load seen last.
 */
export async function waitForQuietMachine(
  budget: { ms: number },
  threshold = 0.25,
): Promise<number> {
  let load = await backgroundCores();
  while (load > threshold && budget.ms > 0) {
    const started = performance.now();
    load = await backgroundCores(2_000);
    budget.ms -= performance.now() - started;
  }
  return load;
}
