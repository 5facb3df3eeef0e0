import { ChildProcess, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';

export const REPOSITORY_ROOT = join(__dirname, '..', '..', '..');

export interface AppLogLine {
  level: number;
  msg?: string;
  at: number;
}

/**
 * The node flags the app is deployed with: the Dockerfile's NODE_OPTIONS (package.json's start
 * scripts pass the same), so the benchmark measures the process operators run.
 */
export function deployedNodeFlags(): string[] {
  const dockerfile = readFileSync(join(REPOSITORY_ROOT, 'Dockerfile'), 'utf8');
  const options = /^ENV NODE_OPTIONS=(?:"([^"]*)"|(\S+))$/m.exec(dockerfile);
  if (!options) throw new Error('The Dockerfile sets no NODE_OPTIONS: the bench needs its flags');
  return (options[1] ?? options[2]).split(/\s+/).filter(Boolean);
}

export interface AppProcessOptions {
  env: Record<string, string>;
  port: number;
  /** Extra node flags, e.g. --cpu-prof. */
  nodeFlags?: string[];
}

/**
 * The compiled app (`node dist/src/main.js`) as a child process, the way it runs in production,
 * with its memory sampled from /proc and its warnings and errors kept for the report.
 */
export class AppProcess {
  /** Milliseconds from spawn to the first 200 on /health. */
  coldStartMs = 0;
  readonly problems: AppLogLine[] = [];
  private rssSamples: number[] = [];
  private sampler?: NodeJS.Timeout;
  private exited = false;

  private constructor(
    private readonly child: ChildProcess,
    readonly url: string,
  ) {
    child.once('exit', () => (this.exited = true));
  }

  static async start(options: AppProcessOptions): Promise<AppProcess> {
    const started = performance.now();
    const child = spawn(
      process.execPath,
      [...(options.nodeFlags ?? []), join(REPOSITORY_ROOT, 'dist', 'src', 'main.js')],
      {
        cwd: REPOSITORY_ROOT,
        env: { PATH: process.env.PATH ?? '', ...options.env },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    const app = new AppProcess(child, `http://127.0.0.1:${options.port}`);
    const stderr: string[] = [];
    child.stderr?.on('data', (chunk: Buffer) => stderr.push(chunk.toString('utf8')));
    createInterface({ input: child.stdout! }).on('line', (line) => app.record(line));
    app.startSampling();
    try {
      await app.waitForHealth(30_000);
    } catch (error) {
      await app.stop();
      throw new Error(`${(error as Error).message}\n${stderr.join('').slice(-4000)}`);
    }
    app.coldStartMs = performance.now() - started;
    return app;
  }

  get pid(): number {
    return this.child.pid!;
  }

  /** Peak resident memory since the last call, in MiB, from 100 ms samples of VmRSS. */
  takePeakRssMiB(): number {
    const current = readStatusKiB(this.pid, 'VmRSS');
    const peak = Math.max(current, ...this.rssSamples);
    this.rssSamples = [];
    return Math.round((peak / 1024) * 10) / 10;
  }

  /** The kernel's high-water mark of resident memory over the process' life, in MiB. */
  highWaterMarkMiB(): number {
    return Math.round((readStatusKiB(this.pid, 'VmHWM') / 1024) * 10) / 10;
  }

  /** Warnings and errors the app logged since `since` (performance.timeOrigin-based ms). */
  problemsSince(since: number): AppLogLine[] {
    return this.problems.filter((line) => line.at >= since);
  }

  async stop(): Promise<void> {
    if (this.sampler) clearInterval(this.sampler);
    if (this.exited) return;
    const exited = new Promise((resolve) => this.child.once('exit', resolve));
    this.child.kill('SIGTERM');
    // main.ts gives in-flight requests SHUTDOWN_TIMEOUT_MS; past that, make sure it is gone.
    const timer = setTimeout(() => this.child.kill('SIGKILL'), 15_000);
    await exited;
    clearTimeout(timer);
  }

  private record(line: string): void {
    try {
      const parsed = JSON.parse(line) as {
        level?: number;
        msg?: string;
        errorName?: string;
        errorCode?: string;
        err?: { type?: string; message?: string };
      };
      if ((parsed.level ?? 0) < 40) return;
      const detail = [parsed.errorName, parsed.errorCode, parsed.err?.type, parsed.err?.message]
        .filter(Boolean)
        .join(' ');
      this.problems.push({
        level: parsed.level!,
        msg: detail ? `${parsed.msg} (${detail})` : parsed.msg,
        at: performance.now(),
      });
    } catch {
      this.problems.push({ level: 50, msg: line.slice(0, 300), at: performance.now() });
    }
  }

  private startSampling(): void {
    this.sampler = setInterval(() => {
      if (this.exited) return;
      try {
        this.rssSamples.push(readStatusKiB(this.pid, 'VmRSS'));
      } catch {
        // The process is exiting.
      }
    }, 100);
    this.sampler.unref();
  }

  private async waitForHealth(timeoutMs: number): Promise<void> {
    const deadline = performance.now() + timeoutMs;
    while (performance.now() < deadline) {
      if (this.exited) throw new Error('The app exited during startup');
      try {
        const response = await fetch(`${this.url}/health`);
        await response.arrayBuffer();
        if (response.status === 200) return;
      } catch {
        // Not listening yet.
      }
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    throw new Error(`The app answered no 200 on /health within ${timeoutMs} ms`);
  }
}

function readStatusKiB(pid: number, field: 'VmRSS' | 'VmHWM'): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const match = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status);
  return match ? Number(match[1]) : 0;
}
