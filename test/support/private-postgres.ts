import { execFile } from 'node:child_process';
import { appendFile, chown, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Client } from 'pg';

const run = promisify(execFile);
const POSTGRES_ROOT = '/usr/lib/postgresql';

/** The newest PostgreSQL installed from the distribution's packages. */
async function binDirectory(): Promise<string> {
  const versions = (await readdir(POSTGRES_ROOT))
    .filter((version) => existsSync(join(POSTGRES_ROOT, version, 'bin', 'initdb')))
    .sort((a, b) => Number(b) - Number(a));
  if (versions.length === 0) throw new Error(`No PostgreSQL binaries under ${POSTGRES_ROOT}`);
  return join(POSTGRES_ROOT, versions[0], 'bin');
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  const address = server.address();
  await new Promise((resolve) => server.close(resolve));
  if (!address || typeof address === 'string') throw new Error('no free port');
  return address.port;
}

/** initdb refuses to run as root: as root, the server's files and processes belong to `postgres`. */
async function runAs(): Promise<{ uid: number; gid: number } | undefined> {
  if (process.getuid?.() !== 0) return undefined;
  const [uid, gid] = await Promise.all([
    run('id', ['-u', 'postgres']).then(({ stdout }) => Number(stdout.trim())),
    run('id', ['-g', 'postgres']).then(({ stdout }) => Number(stdout.trim())),
  ]);
  return { uid, gid };
}

/**
 * A PostgreSQL server of the test's own, in a temporary directory on a free port, that the test
 * may stop and start at will; the shared server on 5432 serves other test runs and must never be
 * touched. Trust authentication, loopback only, fsync off.
 */
export class PrivatePostgres {
  private constructor(
    private readonly bin: string,
    private readonly directory: string,
    private readonly owner: { uid: number; gid: number } | undefined,
    readonly port: number,
  ) {}

  static async create(): Promise<PrivatePostgres> {
    const [bin, owner, port] = await Promise.all([binDirectory(), runAs(), freePort()]);
    const directory = await mkdtemp(join(tmpdir(), 'sms-private-pg-'));
    if (owner) await chown(directory, owner.uid, owner.gid);
    const server = new PrivatePostgres(bin, directory, owner, port);
    try {
      await server.pg('initdb', [
        '--pgdata',
        server.dataDirectory,
        '--auth',
        'trust',
        '--username',
        'postgres',
        '--encoding',
        'UTF8',
        '--no-sync',
      ]);
      await appendFile(
        join(server.dataDirectory, 'postgresql.conf'),
        [
          `port = ${port}`,
          `listen_addresses = '127.0.0.1'`,
          `unix_socket_directories = '${directory}'`,
          'fsync = off',
          'synchronous_commit = off',
          'full_page_writes = off',
          'shared_buffers = 16MB',
          '',
        ].join('\n'),
      );
      await server.start();
      return server;
    } catch (error) {
      await server.destroy();
      throw error;
    }
  }

  private get dataDirectory(): string {
    return join(this.directory, 'data');
  }

  /** postgres://…/database on this server. */
  url(database = 'postgres'): string {
    return `postgres://postgres@127.0.0.1:${this.port}/${database}`;
  }

  async createDatabase(name: string): Promise<string> {
    const client = new Client({ connectionString: this.url() });
    await client.connect();
    try {
      await client.query(`CREATE DATABASE "${name}"`);
    } finally {
      await client.end();
    }
    return this.url(name);
  }

  /** Runs one statement as the superuser, in `database`: its rows. */
  async query<T = Record<string, unknown>>(
    text: string,
    values: unknown[] = [],
    database = 'postgres',
  ): Promise<T[]> {
    const client = new Client({ connectionString: this.url(database) });
    await client.connect();
    try {
      return (await client.query(text, values)).rows as T[];
    } finally {
      await client.end();
    }
  }

  /** Puts `line` first in pg_hba.conf (the first matching line wins) and reloads the server. */
  async prependHba(line: string): Promise<void> {
    const hba = join(this.dataDirectory, 'pg_hba.conf');
    await writeFile(hba, `${line}\n${await readFile(hba, 'utf8')}`);
    await this.pg('pg_ctl', ['--pgdata', this.dataDirectory, 'reload']);
  }

  /** Starts the server and waits until it accepts connections. */
  async start(): Promise<void> {
    await this.pg('pg_ctl', [
      '--pgdata',
      this.dataDirectory,
      '--log',
      join(this.directory, 'server.log'),
      '--wait',
      '--timeout',
      '30',
      'start',
    ]);
  }

  /**
   * Stops the server the way an operator restarting it does: sessions are terminated
   * (57P01 admin_shutdown) and new connections refused until it is started again.
   */
  async stop(mode: 'fast' | 'immediate' = 'fast'): Promise<void> {
    await this.pg('pg_ctl', ['--pgdata', this.dataDirectory, '--mode', mode, '--wait', 'stop']);
  }

  /** Stops the server if it runs and deletes its files. */
  async destroy(): Promise<void> {
    if (existsSync(join(this.dataDirectory, 'postmaster.pid'))) {
      await this.stop('immediate').catch(() => undefined);
    }
    await rm(this.directory, { recursive: true, force: true });
  }

  private async pg(program: string, args: string[]): Promise<void> {
    const path = join(this.bin, program);
    const [file, fileArgs] = this.owner
      ? ['runuser', ['-u', 'postgres', '--', path, ...args]]
      : [path, args];
    // The working directory must be one the server's user may enter.
    await run(file, fileArgs, { cwd: this.directory, timeout: 60_000 });
  }
}
