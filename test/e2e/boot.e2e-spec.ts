import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { createTestDatabase, dropTestDatabase } from '../support/databases';
import {
  BOOT_TIMEOUT_MS,
  ServiceProcess,
  ServiceProcesses,
  freePort,
  logMessages,
  stop,
  waitForExit,
  waitUntilServing,
} from '../support/service-process';
import { deleteRedisKeys } from '../support/test-app';
import { PROJECT_ROOT, TEST_REDIS_URL } from '../support/test-environment';

/**
 * The compiled service started the way an operator starts it (`npm run build`, then
 * `node dist/src/main.js`), as a real process with a controlled environment: what it refuses at
 * boot, what it does with no configuration at all (embedded database, in-memory stores), and how
 * it stops. Global setup compiles it afresh for every run: a stale build would lie.
 */

const execFileAsync = promisify(execFile);
const services = new ServiceProcesses();

async function get(service: ServiceProcess, path: string): Promise<Response> {
  return fetch(`${service.baseUrl}${path}`, { signal: AbortSignal.timeout(5_000) });
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

afterAll(() => services.cleanUp());

describe('Boot: configuration the service refuses', () => {
  it('exits non-zero naming SMS_RATE_LIMIT_WINDOW when it is not a number, touching nothing', async () => {
    const dataDir = join(services.temporaryDirectory('refused'), 'data');
    const service = services.start({ SMS_RATE_LIMIT_WINDOW: 'abc', DATA_DIR: dataDir });
    expect(await waitForExit(service)).not.toBe(0);
    expect(service.stderr()).toContain('SMS_RATE_LIMIT_WINDOW');
    expect(service.stderr()).toContain('.env.example');
    // A configuration message, not a crash: no stack trace.
    expect(service.stderr()).not.toMatch(/\n\s+at /);
    expect(existsSync(dataDir)).toBe(false);
  });

  it('exits non-zero in production without secrets, naming each one', async () => {
    const service = services.start({
      NODE_ENV: 'production',
      DATA_DIR: join(services.temporaryDirectory('production'), 'data'),
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
    const service = services.start({
      HASH_SECRET: secret,
      DATA_DIR: join(services.temporaryDirectory('secret'), 'data'),
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
    dataDir = join(services.temporaryDirectory('embedded'), 'data');
  });

  it(
    'serves /health and /docs within 30 s and keeps the database in DATA_DIR',
    async () => {
      first = services.start({ DATA_DIR: dataDir, PORT: String(await freePort()) });
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
      const second = services.start({ DATA_DIR: dataDir, PORT: String(await freePort()) });
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

      const restarted = services.start({ DATA_DIR: dataDir, PORT: String(await freePort()) });
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
      const dataDir = join(services.temporaryDirectory('external'), 'data');
      const service = services.start({
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
