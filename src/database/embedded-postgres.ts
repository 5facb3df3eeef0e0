import { Logger } from '@nestjs/common';
import { closeSync, mkdirSync, openSync, readFileSync, rmSync, writeSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { PGlite } from '@electric-sql/pglite' with { 'resolution-mode': 'import' };
import type { PGLiteSocketServer } from '@electric-sql/pglite-socket' with {
  'resolution-mode': 'import',
};

export class EmbeddedDatabaseLockedError extends Error {
  constructor(dataDir: string, pid: number) {
    super(
      `The embedded database in ${dataDir} is already in use by process ${pid}. ` +
        'Stop that process, point DATA_DIR elsewhere, or set DATABASE_URL to use PostgreSQL.',
    );
    this.name = 'EmbeddedDatabaseLockedError';
  }
}

function processIsAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** An exclusive lock file with our pid; a stale lock (its process gone) is taken over. */
function acquireLock(dataDir: string): string {
  const lockPath = join(dataDir, 'embedded.lock');
  for (let attempt = 0; attempt < 2; attempt += 1) {
    try {
      const descriptor = openSync(lockPath, 'wx');
      writeSync(descriptor, String(process.pid));
      closeSync(descriptor);
      return lockPath;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      const owner = Number(readFileSync(lockPath, 'utf8').trim());
      if (Number.isInteger(owner) && owner > 0 && owner !== process.pid && processIsAlive(owner)) {
        throw new EmbeddedDatabaseLockedError(dataDir, owner);
      }
      rmSync(lockPath, { force: true });
    }
  }
  throw new Error(`Could not take the embedded database lock at ${lockPath}`);
}

/** Unix socket paths are limited to ~107 bytes; long data directories get one in the temp dir. */
function socketDirectoryFor(dataDir: string): string {
  if (join(dataDir, '.s.PGSQL.5432').length < 100) return dataDir;
  const digest = createHash('sha256').update(dataDir).digest('hex').slice(0, 16);
  const directory = join(tmpdir(), `sms-pglite-${digest}`);
  mkdirSync(directory, { recursive: true, mode: 0o700 });
  return directory;
}

/**
 * Options of the pool in front of the embedded database. PGlite is a single backend session that
 * outlives the socket connections to it: a connection opened after another one closed inherits
 * that one's prepared statements and settings, so preparing a hot-path statement again fails
 * (42P05, "prepared statement … already exists"). The one connection is therefore kept open
 * (no idle timeout), and any new one, after an error closed the old, starts from a clean
 * session (`DISCARD ALL`; the socket server has already rolled back an open transaction).
 */
export const EMBEDDED_POOL_OPTIONS = {
  max: 1,
  idleTimeoutMillis: 0,
  onConnect: async (client: { query(text: string): Promise<unknown> }): Promise<void> => {
    await client.query('DISCARD ALL');
  },
};

export interface EmbeddedConnection {
  host: string;
  port: number;
  username: string;
  database: string;
}

/**
 * PGlite (PostgreSQL compiled to WebAssembly) behind the Postgres wire protocol on a unix socket,
 * so the ordinary `pg` driver and the production code path are used. PGlite runs one session, so
 * the pool holding it must have exactly one connection (EMBEDDED_POOL_OPTIONS): transactions
 * never interleave.
 */
export class EmbeddedPostgres {
  private readonly logger = new Logger('EmbeddedPostgres');
  private database?: PGlite;
  private server?: PGLiteSocketServer;
  private lockPath?: string;

  constructor(private readonly dataDir: string) {}

  async start(): Promise<EmbeddedConnection> {
    mkdirSync(this.dataDir, { recursive: true });
    this.lockPath = acquireLock(this.dataDir);
    try {
      const started = Date.now();
      const { PGlite } = await import('@electric-sql/pglite');
      const { PGLiteSocketServer } = await import('@electric-sql/pglite-socket');
      const database = await PGlite.create(join(this.dataDir, 'pgdata'));
      this.database = database;
      const socketDirectory = socketDirectoryFor(this.dataDir);
      const socketPath = join(socketDirectory, '.s.PGSQL.5432');
      rmSync(socketPath, { force: true });
      // The pool holds one connection; a second slot lets its replacement in while the socket
      // server is still tearing down the connection an error closed.
      const server = new PGLiteSocketServer({ db: database, path: socketPath, maxConnections: 2 });
      this.server = server;
      await server.start();
      this.logger.log(
        `Embedded PostgreSQL (PGlite) ready in ${Date.now() - started} ms, data in ${this.dataDir}`,
      );
      return { host: socketDirectory, port: 5432, username: 'postgres', database: 'postgres' };
    } catch (error) {
      await this.stop();
      throw error;
    }
  }

  async stop(): Promise<void> {
    await this.server?.stop().catch(() => undefined);
    await this.database?.close().catch(() => undefined);
    this.server = undefined;
    this.database = undefined;
    if (this.lockPath) rmSync(this.lockPath, { force: true });
    this.lockPath = undefined;
  }
}
