import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { ProfileSummary } from './cpu-profile';
import type { LoadResult } from './load';
import type { CpuUsage, MachineDescription, PoolUsage } from './machine';
import { REPOSITORY_ROOT } from './app.process';

export interface DatabaseWrites {
  /** The warmup's and the measured load's requests: the counts below cover both. */
  requests: number;
  /** Row versions written per table during those requests (xmin-based, exact). */
  rowsWritten: Record<string, number>;
  /** pg_stat_database deltas, read after the backends flushed their counters. */
  transactions: number;
  tuplesWritten: number;
  /** Shared-buffer hits and misses (reads from the OS) over the same window. */
  blocksHit: number;
  blocksRead: number;
}

export interface ScenarioResult {
  id: string;
  name: string;
  connections: number;
  twilioLatencyMs: number;
  expectedStatuses: number[];
  load: LoadResult;
  /** Requests answered with a status other than the expected ones. */
  unexpected: number;
  peakRssMB: number;
  cpu: CpuUsage;
  pool: PoolUsage;
  /** Cores other users' processes kept busy just before the measurement (see cpu.cores.other). */
  backgroundCoresBefore: number;
  /** Calls the fake Twilio received, and TLS connections the app opened to it. */
  twilio: { requests: number; tlsHandshakes: number };
  /** Warnings and errors the app logged during the scenario, by message. */
  appProblems: Record<string, number>;
  databaseWrites?: DatabaseWrites;
  note?: string;
}

export interface TargetResult {
  target: string;
  measured: string;
  met: boolean | null;
}

export interface RunResults {
  date: string;
  startedAt: string;
  totalSeconds: number;
  machine: MachineDescription;
  /** The commit measured; uncommitted changes under src/ and migrations/ are counted. */
  revision: { commit: string; uncommittedFiles: number };
  settings: {
    nodeEnv: string;
    productionRefusal: string[];
    twilioTransport: string;
    environment: Record<string, string>;
  };
  coldStartMs: { freshDatabase: number; migratedDatabase: number };
  highWaterMarkMB: number;
  scenarios: ScenarioResult[];
  scale?: { redisKeys: number; redisSeedSeconds: number; rows: number; rowsSeedSeconds: number };
  profile?: ProfileSummary & { requestsPerSecond: number; requests: number };
  /** The same for scenario 3, the 429 path. */
  rejectedProfile?: ProfileSummary & { requestsPerSecond: number; requests: number };
  verifyProfile?: ProfileSummary & { requestsPerSecond: number; requests: number };
  rightCodeProfile?: ProfileSummary & { requestsPerSecond: number; requests: number };
  targets: TargetResult[];
  pending: string[];
}

export interface AnalyticsEndpointResult {
  path: string;
  runs: number;
  medianMs: number;
  maxMs: number;
  status: number;
  met: boolean;
  responseBytes: number;
  /** The summary's answer, to show the seeded data looks like a real month. */
  response?: unknown;
}

export interface AnalyticsResults {
  date: string;
  totalSeconds: number;
  events: number;
  rollupRows: number;
  seedSeconds: number;
  rangeDays: number;
  endpoints: AnalyticsEndpointResult[];
}

export const RESULTS_DIRECTORY = join(REPOSITORY_ROOT, 'bench', 'results');
export const DOCUMENT = join(REPOSITORY_ROOT, 'docs', 'BENCHMARKS.md');

export function writeJson(path: string, value: unknown): void {
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, `${JSON.stringify(value, null, 2)}\n`);
}

const number = (value: number) => value.toLocaleString('en-US');
export const percent = (value: number) => `${Math.round(value * 1000) / 10} %`;

/**
 * The ceiling every ratio is taken to: the higher of scenario 1 (start of the run) and 1e (end of
 * the run, fresh app). One measurement at a slow moment of the host would flatter every ratio.
 */
export function ceilingOf(results: RunResults): number {
  return Math.max(
    ...results.scenarios
      .filter((scenario) => scenario.id === '1' || scenario.id === '1e')
      .map((scenario) => scenario.load.requestsPerSecond),
  );
}

export function renderScenarioTable(results: RunResults): string {
  const ceiling = ceilingOf(results);
  const rows = results.scenarios.map((scenario) => {
    const { load } = scenario;
    const statuses = Object.entries(load.statusCodes)
      .map(([code, count]) => `${code}×${number(count)}`)
      .join(' ');
    const failures = load.errors + scenario.unexpected;
    return [
      scenario.id,
      scenario.name,
      String(scenario.connections),
      `${number(load.requestsPerSecond)} ±${number(load.requestsPerSecondStddev)}`,
      percent(load.requestsPerSecond / ceiling),
      `${load.latencyMs.p50} / ${load.latencyMs.p97_5} / ${load.latencyMs.p99}`,
      statuses || '—',
      failures === 0 ? '0' : `**${number(failures)}**`,
      String(scenario.peakRssMB),
      `${scenario.cpu.msPerRequest.app} / ${scenario.cpu.msPerRequest.postgres} / ${scenario.cpu.msPerRequest.redis}`,
      `${scenario.pool.peakBusy} / ${scenario.pool.meanBusy}`,
      scenario.databaseWrites
        ? `${(scenario.databaseWrites.transactions / scenario.databaseWrites.requests).toFixed(2)} / ${(scenario.databaseWrites.blocksRead / scenario.databaseWrites.requests).toFixed(1)}`
        : '—',
      `${scenario.cpu.machineBusyPercent} % / ${scenario.cpu.cores.other}`,
    ];
  });
  return table(
    [
      '#',
      'scenario',
      'conns',
      'req/s ±sd',
      'of ceiling',
      'p50 / p97.5 / p99 ms',
      'statuses',
      'errors + unexpected',
      'peak RSS MB',
      'CPU ms/req app / pg / redis',
      'DB conns busy peak / mean',
      'DB transactions / buffer misses per req',
      'machine busy / other users (cores)',
    ],
    rows,
  );
}

export function renderMachine(results: RunResults): string {
  const { machine, revision, settings } = results;
  return [
    `Run of ${results.startedAt.slice(0, 16).replace('T', ' ')} UTC, ${results.totalSeconds} s, ` +
      `commit ${revision.commit}${revision.uncommittedFiles > 0 ? ` plus ${revision.uncommittedFiles} uncommitted files under src/ and migrations/` : ''}.`,
    '',
    table(
      ['machine', ''],
      [
        ['CPU', `${machine.cores} × ${machine.cpu}`],
        ['memory', `${machine.memoryGiB} GiB`],
        ['kernel', machine.kernel],
        ['Node.js', machine.node],
        ['PostgreSQL', machine.postgres],
        ['Redis', machine.redis],
        [
          'NODE_ENV',
          `${settings.nodeEnv} (production refuses: ${settings.productionRefusal.join('; ') || 'nothing'})`,
        ],
        ['Twilio', settings.twilioTransport],
      ],
    ),
  ].join('\n');
}

export function renderTargetTable(results: RunResults): string {
  return table(
    ['target', 'measured', 'status'],
    results.targets.map((target) => [
      target.target,
      target.measured,
      target.met === null ? '—' : target.met ? 'met' : '**not met**',
    ]),
  );
}

export function renderProfileTables(
  profile: NonNullable<RunResults['profile']>,
  requestsName: string,
): string {
  const entries = (list: { name: string; selfMs: number; selfPercent: number }[]) =>
    list.map((entry) => [
      entry.name.replace(/\|/g, '\\|'),
      String(entry.selfMs),
      `${entry.selfPercent} %`,
    ]);
  return [
    `Profiled window: ${number(profile.requests)} ${requestsName} at ${number(profile.requestsPerSecond)} req/s ` +
      `under \`--cpu-prof\`; main thread busy ${profile.busyPercent} % of ${number(profile.totalMs)} ms.`,
    '',
    '**Inclusive time by concern** (a sample counts when any frame on its stack matches)',
    '',
    table(['concern', 'ms', 'share of busy time'], entries(profile.categories)),
    '',
    '**Socket write system calls by caller** (`writev` and friends, self time)',
    '',
    table(['caller', 'ms', 'share of busy time'], entries(profile.socketWrites)),
    '',
    '**Inclusive time by file of ours** (synchronous stretches: an `await` ends a stack)',
    '',
    table(['file', 'ms', 'share of busy time'], entries(profile.appFiles)),
    '',
    '**Self time by module**',
    '',
    table(['module', 'self ms', 'share of busy time'], entries(profile.topModules)),
    '',
    '**Self time by function**',
    '',
    table(
      ['function — module:line', 'self ms', 'share of busy time'],
      entries(profile.topFunctions),
    ),
  ].join('\n');
}

export function renderAnalyticsTable(results: AnalyticsResults): string {
  return [
    `${number(results.events)} events over 90 days, ${number(results.rollupRows)} hourly rollup rows ` +
      `(seeded in ${results.seedSeconds} s); ${results.rangeDays}-day range, ` +
      `${results.endpoints[0]?.runs ?? 0} runs per endpoint after one unmeasured call.`,
    '',
    table(
      ['endpoint', 'median ms', 'max ms', 'status', 'response bytes', 'target < 200 ms'],
      results.endpoints.map((endpoint) => [
        `\`GET ${endpoint.path}\``,
        String(endpoint.medianMs),
        String(endpoint.maxMs),
        String(endpoint.status),
        number(endpoint.responseBytes),
        endpoint.met ? 'met' : '**not met**',
      ]),
    ),
  ].join('\n');
}

function table(header: string[], rows: string[][]): string {
  return [
    `| ${header.join(' | ')} |`,
    `| ${header.map(() => '---').join(' | ')} |`,
    ...rows.map((row) => `| ${row.join(' | ')} |`),
  ].join('\n');
}

/**
 * Replaces the text between `<!-- bench:NAME:start -->` and `<!-- bench:NAME:end -->` in
 * docs/BENCHMARKS.md; the prose around the generated blocks is written by hand.
 */
export function replaceGeneratedBlock(name: string, content: string): void {
  const start = `<!-- bench:${name}:start -->`;
  const end = `<!-- bench:${name}:end -->`;
  const document = existsSync(DOCUMENT) ? readFileSync(DOCUMENT, 'utf8') : '# Benchmarks\n';
  const block = `${start}\n\n${content}\n\n${end}`;
  const from = document.indexOf(start);
  const to = document.indexOf(end);
  const updated =
    from === -1 || to === -1
      ? `${document.trimEnd()}\n\n${block}\n`
      : `${document.slice(0, from)}${block}${document.slice(to + end.length)}`;
  writeFileSync(DOCUMENT, updated);
}
