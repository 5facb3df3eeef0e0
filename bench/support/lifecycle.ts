import { randomBytes } from 'node:crypto';
import { createServer } from 'node:net';

export function log(message: string): void {
  process.stdout.write(`[bench ${new Date().toISOString().slice(11, 19)}] ${message}\n`);
}

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export const hex = (bytes: number) => randomBytes(bytes).toString('hex');

export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  await new Promise((resolve) => server.close(resolve));
  return typeof address === 'object' && address ? address.port : 0;
}

/** What a run created (processes, databases, keys, files), undone in reverse order. */
export class Cleanup {
  private readonly steps: { name: string; run: () => Promise<unknown> }[] = [];

  add(name: string, run: () => Promise<unknown>): void {
    this.steps.push({ name, run });
  }

  async runAll(): Promise<void> {
    while (this.steps.length > 0) {
      const step = this.steps.pop()!;
      const started = performance.now();
      try {
        await step.run();
      } catch (error) {
        log(`cleanup: ${step.name} failed: ${(error as Error).message}`);
      }
      const seconds = (performance.now() - started) / 1000;
      if (seconds >= 1) log(`cleanup: ${step.name} took ${seconds.toFixed(1)} s`);
    }
  }
}

/**
 * Runs a benchmark and always cleans up after it: on success, on failure and on SIGINT/SIGTERM
 * (Ctrl-C, or npm stopping the script).
 */
export function runWithCleanup(name: string, work: (cleanup: Cleanup) => Promise<void>): void {
  const cleanup = new Cleanup();
  const stop = (signal: NodeJS.Signals) => {
    log(`${signal}: cleaning up`);
    void cleanup.runAll().finally(() => process.exit(130));
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  work(cleanup)
    .finally(async () => {
      log('cleaning up');
      await cleanup.runAll();
    })
    .then(() => process.exit(0))
    .catch((error: unknown) => {
      process.stderr.write(
        `${name} failed: ${error instanceof Error ? error.stack : String(error)}\n`,
      );
      process.exit(1);
    });
}
