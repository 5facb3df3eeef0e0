import { ChildProcess, spawn } from 'node:child_process';
import { Server, createServer } from 'node:net';

/**
 * redis-server processes of a test's own, on loopback, never the machine's Redis: stopping one
 * must not affect other suites.
 */

export const LOOPBACK = '127.0.0.1';

/** Free ports, held open until all are chosen, so no two are the same. */
export async function freePorts(count: number): Promise<number[]> {
  const servers: Server[] = [];
  try {
    for (let index = 0; index < count; index += 1) {
      const server = createServer();
      servers.push(server);
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(0, LOOPBACK, resolve);
      });
    }
    return servers.map((server) => (server.address() as { port: number }).port);
  } finally {
    await Promise.all(
      servers.map((server) => new Promise((resolve) => server.close(() => resolve(undefined)))),
    );
  }
}

/**
 * Starts `redis-server --port <port>` without persistence, plus `settings` (`--name value`), and
 * resolves once it accepts connections.
 */
export async function startRedisServer(
  port: number,
  settings: Record<string, string | number> = {},
): Promise<ChildProcess> {
  const all = { port, bind: LOOPBACK, save: '', appendonly: 'no', daemonize: 'no', ...settings };
  const child = spawn(
    'redis-server',
    Object.entries(all).flatMap(([name, value]) => [`--${name}`, String(value)]),
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  await new Promise<void>((resolve, reject) => {
    let output = '';
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`redis-server :${port} did not start: ${output}`));
    }, 10_000);
    child.stdout?.on('data', (chunk: Buffer) => {
      output += chunk.toString('utf8');
      if (output.includes('Ready to accept connections')) {
        clearTimeout(timer);
        resolve();
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`redis-server :${port} exited with ${code}: ${output}`));
    });
  });
  return child;
}

/** SIGTERM, then SIGKILL if it has not exited after 5 s. */
export async function stopRedisServer(child: ChildProcess | undefined): Promise<void> {
  if (!child || child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
  await exited;
  clearTimeout(timer);
}
