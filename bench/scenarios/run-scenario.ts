import { Context } from '../context';
import { STATS_SETTLE_MS } from '../settings';
import { AppProcess } from '../support/app.process';
import { databaseStats, nextXid, rowsWrittenSince } from '../support/database';
import { log, sleep } from '../support/lifecycle';
import { LoadOptions, runLoad } from '../support/load';
import { cpuSnapshot, cpuUsage, samplePool, waitForQuietMachine } from '../support/machine';
import { DatabaseWrites, ScenarioResult } from '../support/report';

export interface ScenarioSpec {
  id: string;
  name: string;
  app: AppProcess;
  connections: number;
  twilioLatencyMs?: number;
  expectedStatuses: number[];
  /** Unrecorded load first, so the JIT, the pools and the caches are warm. */
  warmup?: Omit<LoadOptions, 'url'>;
  load: Omit<LoadOptions, 'url'>;
  /** Check what the measured requests wrote to PostgreSQL (waits for the stats to settle). */
  checkDatabaseWrites?: boolean;
  /** Work for the wait while the stats settle (nothing is measured then). */
  whileSettling?: () => Promise<unknown>;
  note?: string;
}

export async function runScenario(context: Context, spec: ScenarioSpec): Promise<ScenarioResult> {
  log(`scenario ${spec.id}: ${spec.name}`);
  const url = spec.app.url;
  // Database counts cover the warmup and the measured load together (the same load), so no wait
  // for the warmup's counters to settle is needed in between; the previous scenario's are settled.
  const before = spec.checkDatabaseWrites
    ? {
        xid: await nextXid(context.monitor),
        stats: await databaseStats(context.admin, context.databaseName),
      }
    : undefined;
  const warmup = spec.warmup ? await runLoad({ url, ...spec.warmup }) : undefined;
  const backgroundCores = await waitForQuietMachine(context.quietBudget);
  spec.app.takePeakRssMiB();
  const since = performance.now();
  const pool = samplePool(context.admin, context.databaseName);
  const twilioBefore = await context.fake.counts();
  const cpuBefore = cpuSnapshot({ app: spec.app.pid, fakeTwilio: context.fake.pid });
  const load = await runLoad({ url, ...spec.load });
  const cpuAfter = cpuSnapshot({ app: spec.app.pid, fakeTwilio: context.fake.pid });
  const twilioAfter = await context.fake.counts();
  const poolUsage = await pool.stop();
  const peakRssMiB = spec.app.takePeakRssMiB();

  let databaseWrites: DatabaseWrites | undefined;
  if (before) {
    await Promise.all([sleep(STATS_SETTLE_MS), spec.whileSettling?.()]);
    const after = await databaseStats(context.admin, context.databaseName);
    // After the stats: these reads are transactions on the run's database themselves.
    const rowsWritten = await rowsWrittenSince(context.monitor, before.xid);
    databaseWrites = {
      requests: (warmup?.requests ?? 0) + load.requests,
      rowsWritten,
      transactions: after.xactCommit - before.stats.xactCommit,
      tuplesWritten:
        after.tuplesInserted -
        before.stats.tuplesInserted +
        (after.tuplesUpdated - before.stats.tuplesUpdated) +
        (after.tuplesDeleted - before.stats.tuplesDeleted),
      blocksHit: after.blocksHit - before.stats.blocksHit,
      blocksRead: after.blocksRead - before.stats.blocksRead,
    };
  }

  const appProblems: Record<string, number> = {};
  for (const line of spec.app.problemsSince(since)) {
    const message = (line.msg ?? '(no message)').slice(0, 160);
    appProblems[message] = (appProblems[message] ?? 0) + 1;
  }
  const expected = spec.expectedStatuses.reduce(
    (sum, status) => sum + (load.statusCodes[String(status)] ?? 0),
    0,
  );
  const result: ScenarioResult = {
    id: spec.id,
    name: spec.name,
    connections: spec.connections,
    twilioLatencyMs: spec.twilioLatencyMs ?? 0,
    expectedStatuses: spec.expectedStatuses,
    load,
    unexpected: load.requests - expected,
    peakRssMB: Math.round(peakRssMiB * 1.048576 * 10) / 10,
    cpu: cpuUsage(cpuBefore, cpuAfter, load.requests, load.durationSeconds),
    pool: poolUsage,
    backgroundCoresBefore: backgroundCores,
    twilio: {
      requests: twilioAfter.requests - twilioBefore.requests,
      tlsHandshakes: twilioAfter.tlsHandshakes - twilioBefore.tlsHandshakes,
    },
    appProblems,
    ...(databaseWrites ? { databaseWrites } : {}),
    ...(spec.note ? { note: spec.note } : {}),
  };
  log(
    `  ${load.requestsPerSecond} req/s, p50/p97.5/p99 ${load.latencyMs.p50}/${load.latencyMs.p97_5}/` +
      `${load.latencyMs.p99} ms, statuses ${JSON.stringify(load.statusCodes)}, errors ${load.errors}, ` +
      `RSS ${result.peakRssMB} MB, CPU ms/req ${JSON.stringify(result.cpu.msPerRequest)}, ` +
      `DB busy ${poolUsage.peakBusy}/${poolUsage.meanBusy}, Twilio ${JSON.stringify(result.twilio)}, ` +
      `other load ${result.cpu.cores.other} cores (${backgroundCores} before)`,
  );
  return result;
}
