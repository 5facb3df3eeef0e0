import { readFileSync } from 'node:fs';

/** The parts of V8's .cpuprofile format (as written by `node --cpu-prof`) read here. */
interface CpuProfile {
  nodes: {
    id: number;
    callFrame: { functionName: string; url: string; lineNumber: number };
    children?: number[];
  }[];
  startTime: number;
  endTime: number;
  samples: number[];
  timeDeltas: number[];
}

export interface ProfileEntry {
  name: string;
  selfMs: number;
  selfPercent: number;
}

export interface ProfileSummary {
  totalMs: number;
  /** Share of samples that were not idle: how busy the app's main thread was. */
  busyPercent: number;
  topFunctions: ProfileEntry[];
  topModules: ProfileEntry[];
  /** Inclusive time of a few questions worth asking of a send path (see CATEGORIES). */
  categories: ProfileEntry[];
  /** Inclusive time per file of ours on the stack (synchronous stretches only: an await cuts it). */
  appFiles: ProfileEntry[];
  /**
   * Socket writes (writev, writeUtf8String, writeBuffer: the system calls) by the first module
   * up the stack that is not Node itself: which connection the write time went to.
   */
  socketWrites: ProfileEntry[];
}

const SOCKET_WRITES = new Set(['writev', 'writeUtf8String', 'writeBuffer', 'writeLatin1String']);

/**
 * Where a sample's time belongs: our compiled code by file, dependencies by package, Node's
 * internals by module, and V8's pseudo-frames as they are.
 */
export function moduleOf(url: string, functionName: string): string {
  if (!url) return functionName.startsWith('(') ? functionName : '(native)';
  const packageMatch = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (packageMatch) return packageMatch[1];
  if (url.startsWith('node:')) return url.split('/').slice(0, 2).join('/');
  const ours = /\/dist\/(src|migrations)\/(.*)$/.exec(url);
  if (ours) return `app: ${ours[1]}/${ours[2].replace(/\.js$/, '')}`;
  return url.replace(/^file:\/\//, '');
}

/**
 * Inclusive buckets: a sample counts for a category when any frame on its stack matches. They
 * answer "how much of the send path is X" whatever the leaf function was.
 */
const CATEGORIES: { name: string; matches: (url: string, functionName: string) => boolean }[] = [
  {
    name: 'twilio SDK + axios (building and sending the Twilio request)',
    matches: (url) => /node_modules\/(twilio|axios)\//.test(url),
  },
  {
    name: 'pg driver (queries, parsing rows)',
    matches: (url) => /node_modules\/(pg|pg-protocol|pg-pool|pg-types)\//.test(url),
  },
  { name: 'ioredis (rate-limit scripts)', matches: (url) => /node_modules\/ioredis\//.test(url) },
  {
    name: 'class-validator / class-transformer (body validation)',
    matches: (url) => /node_modules\/class-(validator|transformer)\//.test(url),
  },
  {
    name: 'libphonenumber-js (parsing numbers)',
    matches: (url) => /node_modules\/libphonenumber-js\//.test(url),
  },
  { name: 'pino (logging)', matches: (url) => /node_modules\/pino/.test(url) },
  {
    name: 'fastify + @fastify/* (HTTP)',
    matches: (url) => /node_modules\/(fastify|@fastify\/|find-my-way|light-my-request)/.test(url),
  },
  {
    name: '@nestjs/* (routing, guards, pipes, interceptors)',
    matches: (url) => /node_modules\/@nestjs\//.test(url),
  },
  { name: 'nestjs-i18n (SMS texts)', matches: (url) => /node_modules\/nestjs-i18n\//.test(url) },
  { name: 'garbage collection', matches: (_url, name) => name === '(garbage collector)' },
];

/**
 * Self time per function and module, and inclusive time per category. `window` (microseconds of
 * CLOCK_MONOTONIC, the clock of both V8's profile timestamps and process.hrtime) keeps only the
 * samples taken while the measured load ran, leaving out boot and warm-up.
 */
export function summarizeCpuProfile(
  path: string,
  window?: { fromMicros: number; toMicros: number },
  top = 15,
): ProfileSummary {
  const profile = JSON.parse(readFileSync(path, 'utf8')) as CpuProfile;
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const parentOf = new Map<number, number>();
  for (const node of profile.nodes) {
    for (const child of node.children ?? []) parentOf.set(child, node.id);
  }

  const selfByNode = new Map<number, number>();
  let sampledAt = profile.startTime;
  profile.samples.forEach((nodeId, index) => {
    const delta = profile.timeDeltas[index] ?? 0;
    sampledAt += delta;
    if (window && (sampledAt < window.fromMicros || sampledAt > window.toMicros)) return;
    selfByNode.set(nodeId, (selfByNode.get(nodeId) ?? 0) + delta);
  });

  const functions = new Map<string, number>();
  const modules = new Map<string, number>();
  const categories = new Map<string, number>();
  const appFiles = new Map<string, number>();
  const socketWrites = new Map<string, number>();
  /** The nearest module up the stack that is neither Node itself nor a V8 pseudo-frame. */
  const firstCaller = (nodeId: number): string | undefined => {
    for (
      let current = parentOf.get(nodeId);
      current !== undefined;
      current = parentOf.get(current)
    ) {
      const frame = byId.get(current)!.callFrame;
      const owner = moduleOf(frame.url, frame.functionName);
      if (!owner.startsWith('node:') && !owner.startsWith('(')) return owner;
    }
    return undefined;
  };
  let totalMicros = 0;
  let idleMicros = 0;
  for (const [nodeId, micros] of selfByNode) {
    const { functionName, url, lineNumber } = byId.get(nodeId)!.callFrame;
    totalMicros += micros;
    if (functionName === '(idle)') {
      idleMicros += micros;
      continue;
    }
    const module = moduleOf(url, functionName);
    const name = `${functionName || '(anonymous)'} — ${module}${url ? `:${lineNumber + 1}` : ''}`;
    functions.set(name, (functions.get(name) ?? 0) + micros);
    modules.set(module, (modules.get(module) ?? 0) + micros);

    if (SOCKET_WRITES.has(functionName)) {
      const caller = firstCaller(nodeId) ?? '(no JavaScript caller: TLS or libuv)';
      socketWrites.set(caller, (socketWrites.get(caller) ?? 0) + micros);
    }
    const matched = new Set<string>();
    const files = new Set<string>();
    for (
      let current: number | undefined = nodeId;
      current !== undefined;
      current = parentOf.get(current)
    ) {
      const frame = byId.get(current)!.callFrame;
      for (const category of CATEGORIES) {
        if (category.matches(frame.url, frame.functionName)) matched.add(category.name);
      }
      const file = moduleOf(frame.url, frame.functionName);
      if (file.startsWith('app: ')) files.add(file.slice('app: '.length));
    }
    for (const category of matched) {
      categories.set(category, (categories.get(category) ?? 0) + micros);
    }
    for (const file of files) appFiles.set(file, (appFiles.get(file) ?? 0) + micros);
  }

  const busyMicros = totalMicros - idleMicros;
  const entries = (map: Map<string, number>, limit: number): ProfileEntry[] =>
    [...map.entries()]
      .sort(([, left], [, right]) => right - left)
      .slice(0, limit)
      .map(([name, micros]) => ({
        name,
        selfMs: Math.round(micros / 1000),
        selfPercent: Math.round((micros / busyMicros) * 1000) / 10,
      }));
  return {
    totalMs: Math.round(totalMicros / 1000),
    busyPercent: Math.round((busyMicros / totalMicros) * 1000) / 10,
    topFunctions: entries(functions, top),
    topModules: entries(modules, top),
    categories: entries(categories, CATEGORIES.length),
    appFiles: entries(appFiles, top),
    socketWrites: entries(socketWrites, 8),
  };
}
