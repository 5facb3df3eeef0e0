import { linkSync, renameSync, rmSync } from 'node:fs';
import { Server, Socket, connect, createServer } from 'node:net';
import { join } from 'node:path';

/**
 * How the front answers a PostgreSQL client:
 * - `forward`: passes every connection through to the real server;
 * - `vanished`: its unix socket file is gone (connect fails with ENOENT), as after a server stops;
 * - `stale`: the socket file is there but nothing listens (ECONNREFUSED), as after a server crash;
 * - `closing`: accepts and closes each connection at once, before PostgreSQL's first word (a unix
 *   socket has no TCP reset: the client reads the end of the stream);
 * - `silent`: accepts and never answers, for longer than any connect timeout;
 * - `starting-up`: answers the startup message with PostgreSQL's ErrorResponse 57P03, "the
 *   database system is starting up", as a server recovering after a crash does.
 */
export type FrontMode = 'forward' | 'vanished' | 'stale' | 'closing' | 'silent' | 'starting-up';

/** An ErrorResponse message of the PostgreSQL wire protocol (severity FATAL). */
function errorResponse(sqlState: string, message: string): Buffer {
  const fields = Buffer.concat([
    ...[
      ['S', 'FATAL'],
      ['V', 'FATAL'],
      ['C', sqlState],
      ['M', message],
    ].map(([type, value]) => Buffer.from(`${type}${value}\0`, 'utf8')),
    Buffer.from([0]),
  ]);
  const header = Buffer.alloc(5);
  header.write('E', 0);
  header.writeInt32BE(fields.length + 4, 1);
  return Buffer.concat([header, fields]);
}

/**
 * A unix socket in front of a test PostgreSQL server that the test switches between answering
 * like the server and failing in the ways a real outage does, without touching the server. A
 * service reaches it with `?host=<directory>` in its URL. Leaving `forward` drops the connections
 * it carried, as a server that went away would.
 */
export class DatabaseFront {
  private server?: Server;
  private mode: FrontMode = 'forward';
  private readonly open = new Set<Socket>();

  private constructor(
    /** The directory of the socket, as in `?host=`. */
    readonly directory: string,
    /** The port in the socket's name (`.s.PGSQL.<port>`), as in the URL. */
    readonly port: number,
    private readonly upstream: { host: string; port: number },
  ) {}

  static async start(
    directory: string,
    upstream: { host: string; port: number },
    port = 5432,
  ): Promise<DatabaseFront> {
    const front = new DatabaseFront(directory, port, upstream);
    await front.listen();
    return front;
  }

  get path(): string {
    return join(this.directory, `.s.PGSQL.${this.port}`);
  }

  /** postgres://user:password@/database?host=<directory>&port=<port> */
  url(user: string, password: string, database: string): string {
    const credentials = `${encodeURIComponent(user)}:${encodeURIComponent(password)}`;
    const query = `host=${encodeURIComponent(this.directory)}&port=${this.port}`;
    return `postgres://${credentials}@/${database}?${query}`;
  }

  async setMode(mode: FrontMode): Promise<void> {
    if (mode === this.mode) return;
    const previous = this.mode;
    this.mode = mode;
    for (const socket of this.open) socket.destroy();
    this.open.clear();
    const listening = (m: FrontMode) => m !== 'vanished' && m !== 'stale';
    if (listening(previous) && !listening(mode)) {
      // Closing removes the socket file; a hard link taken before keeps it, unanswered.
      const kept = `${this.path}.kept`;
      if (mode === 'stale') linkSync(this.path, kept);
      await this.close();
      if (mode === 'stale') renameSync(kept, this.path);
    } else if (!listening(previous) && listening(mode)) {
      rmSync(this.path, { force: true });
      await this.listen();
    } else if (previous === 'stale' && mode === 'vanished') {
      rmSync(this.path, { force: true });
    }
  }

  async stop(): Promise<void> {
    for (const socket of this.open) socket.destroy();
    if (this.server) await this.close();
    rmSync(this.path, { force: true });
  }

  private listen(): Promise<void> {
    const server = createServer((socket) => this.accept(socket));
    this.server = server;
    return new Promise((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.path, () => {
        server.off('error', reject);
        resolve();
      });
    });
  }

  private close(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    return new Promise((resolve) => (server ? server.close(() => resolve()) : resolve()));
  }

  private accept(client: Socket): void {
    client.on('error', () => undefined);
    this.open.add(client);
    client.once('close', () => this.open.delete(client));
    switch (this.mode) {
      case 'closing':
        client.destroy();
        return;
      case 'silent':
        return;
      case 'starting-up':
        this.answerStartup(client, errorResponse('57P03', 'the database system is starting up'));
        return;
      default:
        this.forward(client);
    }
  }

  /** Reads the whole startup message (its first 4 bytes are its length), then answers. */
  private answerStartup(client: Socket, answer: Buffer): void {
    let received = Buffer.alloc(0);
    client.on('data', (chunk: Buffer) => {
      received = Buffer.concat([received, chunk]);
      if (received.length >= 4 && received.length >= received.readInt32BE(0)) {
        client.end(answer);
      }
    });
  }

  private forward(client: Socket): void {
    const server = connect(this.upstream.port, this.upstream.host);
    this.open.add(server);
    server.once('close', () => this.open.delete(server));
    server.on('error', () => client.destroy());
    client.on('close', () => server.destroy());
    server.on('close', () => client.destroy());
    client.pipe(server);
    server.pipe(client);
  }
}
