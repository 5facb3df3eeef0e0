import { ChildProcess, execFile, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { createTestDatabase, dropTestDatabase } from '../support/databases';
import { deleteRedisKeys } from '../support/test-app';
import { TEST_REDIS_URL } from '../support/test-environment';

/**
 * The compiled service started the way an operator starts it (`node dist/src/main.js`), as a
 * real process with a controlled environment: what it refuses at boot, what it does with no
 * configuration at all (embedded database, in-memory stores), and how it stops.
 */

const execFileAsync = promisify(execFile);
const PROJECT_ROOT = resolve(__dirname, '../..');
const MAIN = join(PROJECT_ROOT, 'dist/src/main.js');
/** PGlite's first open takes seconds and ~850 MB; a loaded CI machine is slower still. */
const BOOT_TIMEOUT_MS = 30_000;

interface ServiceProcess {
  child: ChildProcess;
  baseUrl: string;
  stdout(): string;
  stderr(): string;
  /** Resolves with the exit code (null when killed by a signal). */
  exited: Promise<number | null>;
}

const started: ServiceProcess[] = [];
const temporaryDirectories: string[] = [];

function temporaryDirectory(label: string): string {
  const directory = mkdtempSync(join(tmpdir(), `sms-boot-${label}-`));
  temporaryDirectories.push(directory);
  return directory;
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((listening) => server.listen(0, '127.0.0.1', listening));
  const address = server.address();
  await new Promise((closed) => server.close(closed));
  if (address === null || typeof address === 'string') throw new Error('no TCP port');
  return address.port;
}

/**
 * Starts the compiled app with exactly `variables`, plus PATH and HOST=127.0.0.1 unless given:
 * nothing leaks in from the test runner's environment. The working directory is a fresh empty one, so a developer's `.env` in
 * the project root is not read and the app must find its own files from its install location.
 */
function startService(variables: Record<string, string>): ServiceProcess {
  const port = variables.PORT ?? '3000';
  const child = spawn(process.execPath, [MAIN], {
    cwd: temporaryDirectory('cwd'),
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOST: '127.0.0.1', ...variables },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout!.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
  child.stderr!.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  const exited = new Promise<number | null>((resolveExit, reject) => {
    child.once('error', reject);
    child.once('exit', (code) => resolveExit(code));
  });
  const service: ServiceProcess = {
    child,
    baseUrl: `http://127.0.0.1:${port}`,
    stdout: () => stdout,
    stderr: () => stderr,
    exited,
  };
  started.push(service);
  return service;
}

function describeOutput(service: ServiceProcess): string {
  return `\n--- stdout ---\n${service.stdout()}\n--- stderr ---\n${service.stderr()}`;
}

async function waitForExit(
  service: ServiceProcess,
  timeoutMs = BOOT_TIMEOUT_MS,
): Promise<number | null> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(
      () =>
        reject(
          new Error(`the process did not exit within ${timeoutMs} ms${describeOutput(service)}`),
        ),
      timeoutMs,
    );
  });
  try {
    return await Promise.race([service.exited, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

async function get(service: ServiceProcess, path: string): Promise<Response> {
  return fetch(`${service.baseUrl}${path}`, { signal: AbortSignal.timeout(5_000) });
}

/** Polls until `path` answers 200; fails early, with the output, if the process exits. */
async function waitUntilServing(
  service: ServiceProcess,
  path = '/health',
  timeoutMs = BOOT_TIMEOUT_MS,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let exitCode: number | null | undefined;
  void service.exited.then((code) => (exitCode = code));
  let lastProblem = 'no answer yet';
  while (Date.now() < deadline) {
    if (exitCode !== undefined) {
      throw new Error(
        `the process exited with ${exitCode} before serving${describeOutput(service)}`,
      );
    }
    try {
      const response = await get(service, path);
      if (response.status === 200) return;
      lastProblem = `${path} answered ${response.status}: ${await response.text()}`;
    } catch (error) {
      lastProblem = String(error);
    }
    await new Promise((wait) => setTimeout(wait, 200));
  }
  throw new Error(
    `${path} did not answer 200 within ${timeoutMs} ms (${lastProblem})${describeOutput(service)}`,
  );
}

async function stop(service: ServiceProcess): Promise<number | null> {
  service.child.kill('SIGTERM');
  return waitForExit(service, 20_000);
}

/** The messages of the JSON log lines the process wrote to stdout. */
function logMessages(service: ServiceProcess): string[] {
  return service
    .stdout()
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .map((line) => String((JSON.parse(line) as { msg?: unknown }).msg ?? ''));
}

/**
 * Runs SQL on the embedded database directly with PGlite, in a separate process, while the
 * service is stopped (PGlite has no wire access from outside the service that holds it).
 */
async function queryEmbeddedDatabase(dataDir: string, sql: string): Promise<unknown[]> {
  const script = `
    const { PGlite } = await import('@electric-sql/pglite');
    const database = await PGlite.create(process.argv[1]);
    try {
      const results = await database.exec(process.argv[2]);
      process.stdout.write(JSON.stringify(results.at(-1)?.rows ?? []));
    } finally {
      await database.close();
    }`;
  const { stdout } = await execFileAsync(
    process.execPath,
    ['--input-type=module', '-e', script, join(dataDir, 'pgdata'), sql],
    { cwd: PROJECT_ROOT, env: { PATH: process.env.PATH ?? '/usr/bin:/bin' }, timeout: 60_000 },
  );
  return JSON.parse(stdout) as unknown[];
}

beforeAll(async () => {
  // Always rebuild: the test is about what `npm start` runs, and a stale dist/ would lie.
  try {
    await execFileAsync('npm', ['run', 'build'], { cwd: PROJECT_ROOT, timeout: 180_000 });
  } catch (error) {
    const { stdout, stderr } = error as { stdout?: string; stderr?: string };
    throw new Error(`npm run build failed:\n${stdout ?? ''}\n${stderr ?? ''}`);
  }
}, 200_000);

afterAll(async () => {
  for (const service of started) {
    if (service.child.exitCode === null && service.child.signalCode === null) {
      service.child.kill('SIGKILL');
      await service.exited.catch(() => undefined);
    }
  }
  for (const directory of temporaryDirectories) rmSync(directory, { recursive: true, force: true });
});

describe('Boot: configuration the service refuses', () => {
  it('exits non-zero naming SMS_RATE_LIMIT_WINDOW when it is not a number, touching nothing', async () => {
    const dataDir = join(temporaryDirectory('refused'), 'data');
    const service = startService({ SMS_RATE_LIMIT_WINDOW: 'abc', DATA_DIR: dataDir });
    expect(await waitForExit(service)).not.toBe(0);
    expect(service.stderr()).toContain('SMS_RATE_LIMIT_WINDOW');
    expect(service.stderr()).toContain('.env.example');
    // A configuration message, not a crash: no stack trace.
    expect(service.stderr()).not.toMatch(/\n\s+at /);
    expect(existsSync(dataDir)).toBe(false);
  });

  it('exits non-zero in production without secrets, naming each one', async () => {
    const service = startService({
      NODE_ENV: 'production',
      DATA_DIR: join(temporaryDirectory('production'), 'data'),
    });
    expect(await waitForExit(service)).not.toBe(0);
    for (const variable of [
      'HASH_SECRET',
      'TWILIO_ACCOUNT_SID',
      'TWILIO_AUTH_TOKEN',
      'DATABASE_URL',
    ]) {
      expect(service.stderr()).toContain(variable);
    }
  });

  it('names a bad secret without printing its value', async () => {
    const secret = 'short-secret-3c9e1f';
    const service = startService({
      HASH_SECRET: secret,
      DATA_DIR: join(temporaryDirectory('secret'), 'data'),
    });
    expect(await waitForExit(service)).not.toBe(0);
    expect(service.stderr()).toContain('HASH_SECRET');
    expect(service.stderr() + service.stdout()).not.toContain(secret);
  });
});

describe('Boot: nothing configured (embedded database, in-memory stores)', () => {
  let dataDir: string;
  let first: ServiceProcess;
  let pgVersionInode: number;

  beforeAll(() => {
    dataDir = join(temporaryDirectory('embedded'), 'data');
  });

  it(
    'serves /health and /docs within 30 s and keeps the database in DATA_DIR',
    async () => {
      first = startService({ DATA_DIR: dataDir, PORT: String(await freePort()) });
      await waitUntilServing(first);
      expect((await get(first, '/health')).status).toBe(200);
      const docs = await get(first, '/docs');
      expect(docs.status).toBe(200);
      expect(await docs.text()).toContain('swagger-ui');
      const ready = await get(first, '/health/ready');
      expect(ready.status).toBe(200);
      expect(existsSync(join(dataDir, 'pgdata', 'PG_VERSION'))).toBe(true);
      pgVersionInode = statSync(join(dataDir, 'pgdata', 'PG_VERSION')).ino;
    },
    BOOT_TIMEOUT_MS + 15_000,
  );

  it('says in its startup log that it uses in-memory stores and the embedded database', () => {
    const messages = logMessages(first);
    expect(messages).toContainEqual(expect.stringMatching(/REDIS_URL is not set.*in-memory/));
    expect(messages).toContainEqual(
      expect.stringMatching(/DATABASE_URL is not set.*embedded database/),
    );
    expect(messages).toContainEqual(expect.stringContaining(`data in ${dataDir}`));
  });

  it(
    'refuses a second process on the same DATA_DIR, saying the directory is in use',
    async () => {
      const second = startService({ DATA_DIR: dataDir, PORT: String(await freePort()) });
      expect(await waitForExit(second)).not.toBe(0);
      expect(second.stderr()).toMatch(/already in use/);
      expect(second.stderr()).toContain(dataDir);
      // The first one is untouched: still serving, still holding the lock.
      expect((await get(first, '/health/ready')).status).toBe(200);
      expect(readFileSync(join(dataDir, 'embedded.lock'), 'utf8').trim()).toBe(
        String(first.child.pid),
      );
    },
    BOOT_TIMEOUT_MS + 5_000,
  );

  it('exits 0 on SIGTERM and releases DATA_DIR', async () => {
    expect(await stop(first)).toBe(0);
    expect(existsSync(join(dataDir, 'embedded.lock'))).toBe(false);
  }, 25_000);

  it(
    'restarts on the same DATA_DIR and keeps its data',
    async () => {
      // Leave a mark the service knows nothing about, then see that a restart keeps it.
      const before = await queryEmbeddedDatabase(
        dataDir,
        `CREATE TABLE boot_test_marker (note text);
         INSERT INTO boot_test_marker VALUES ('written between two runs');
         SELECT id, timestamp::text, name FROM migrations ORDER BY id;`,
      );

      const restarted = startService({ DATA_DIR: dataDir, PORT: String(await freePort()) });
      await waitUntilServing(restarted, '/health/ready');
      expect(await stop(restarted)).toBe(0);

      expect(statSync(join(dataDir, 'pgdata', 'PG_VERSION')).ino).toBe(pgVersionInode);
      const marker = await queryEmbeddedDatabase(dataDir, 'SELECT note FROM boot_test_marker;');
      expect(marker).toEqual([{ note: 'written between two runs' }]);
      // The first run applied the migrations; the restart found them and applied none again.
      expect(before.length).toBeGreaterThan(0);
      const after = await queryEmbeddedDatabase(
        dataDir,
        'SELECT id, timestamp::text, name FROM migrations ORDER BY id;',
      );
      expect(after).toEqual(before);
    },
    BOOT_TIMEOUT_MS + 60_000,
  );
});

describe('Boot: PostgreSQL and Redis configured', () => {
  let database: { name: string; url: string };
  const redisKeyPrefix = `test:boot:${randomBytes(6).toString('hex')}:`;

  beforeAll(async () => {
    database = await createTestDatabase();
  });
  afterAll(async () => {
    await dropTestDatabase(database.name);
    await deleteRedisKeys(TEST_REDIS_URL, redisKeyPrefix);
  });

  it(
    'reports both up on /health/ready and leaves DATA_DIR unused',
    async () => {
      const dataDir = join(temporaryDirectory('external'), 'data');
      const service = startService({
        DATABASE_URL: database.url,
        REDIS_URL: TEST_REDIS_URL,
        REDIS_KEY_PREFIX: redisKeyPrefix,
        DATA_DIR: dataDir,
        PORT: String(await freePort()),
      });
      await waitUntilServing(service, '/health/ready');
      const ready = (await (await get(service, '/health/ready')).json()) as {
        details: Record<string, Record<string, unknown>>;
      };
      expect(ready.details.database).toMatchObject({ status: 'up' });
      expect(ready.details.redis).toEqual({ status: 'up' });
      expect(existsSync(dataDir)).toBe(false);
      expect(logMessages(service)).not.toContainEqual(
        expect.stringMatching(/REDIS_URL is not set|DATABASE_URL is not set|PGlite/),
      );
      expect(await stop(service)).toBe(0);
    },
    BOOT_TIMEOUT_MS + 25_000,
  );
});
