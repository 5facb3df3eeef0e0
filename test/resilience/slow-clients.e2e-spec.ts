import { randomBytes } from 'node:crypto';
import { request as httpRequest } from 'node:http';
import { Socket, connect } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { FakeTwilioServer } from '../fakes/fake-twilio-server';
import { createTestDatabase, dropTestDatabase } from '../support/databases';
import { startFakeTwilio } from '../support/fake-twilio-app';
import {
  ServiceProcess,
  ServiceProcesses,
  describeOutput,
  isRunning,
  logEntries,
  serviceEnvironment,
} from '../support/service-process';
import { deleteRedisKeys } from '../support/test-app';
import { TEST_REDIS_URL } from '../support/test-environment';

/**
 * Slow clients against the compiled service as a process with a low descriptor limit: each slow
 * connection is cut in time, one client address cannot hold more than its share, a connection
 * opened before the flood keeps being served, and the process lives. Before, Fastify cut neither
 * a body that never arrived nor one trickled a byte at a time, and about 1,500 of them against a
 * limit of 1,024 descriptors stopped the service and then ended it (an unhandled EMFILE).
 *
 * The timeouts are short here so the test is; "in time" means the timeout plus the server's
 * deadline check (a quarter of the headers' timeout) plus a generous margin for a loaded machine.
 */

const HEADERS_TIMEOUT_MS = 1_000;
const REQUEST_TIMEOUT_MS = 2_000;
const KEEP_ALIVE_TIMEOUT_MS = 1_000;
const PER_CLIENT = 20;
const DESCRIPTOR_LIMIT = 160;
const MARGIN_MS = 2_500;
/** Node keeps an idle connection up to a second past keepAliveTimeout (what it advertises). */
const KEEP_ALIVE_SLACK_MS = 1_000;
/** A trickling client sends its next byte this often: far more often than any timeout. */
const TRICKLE_EVERY_MS = 200;

const HTTP_SETTINGS = {
  HTTP_HEADERS_TIMEOUT_MS: String(HEADERS_TIMEOUT_MS),
  HTTP_REQUEST_TIMEOUT_MS: String(REQUEST_TIMEOUT_MS),
  HTTP_KEEP_ALIVE_TIMEOUT_MS: String(KEEP_ALIVE_TIMEOUT_MS),
  HTTP_SOCKET_TIMEOUT_MS: String(REQUEST_TIMEOUT_MS + 1_000),
  HTTP_MAX_CONNECTIONS_PER_CLIENT: String(PER_CLIENT),
};

type SlowKind = 'headers' | 'body' | 'idle';

/** What happened to one slow connection, in ms since it was opened. */
interface SlowConnection {
  kind: SlowKind;
  from: string;
  openedAt: number;
  /** When its request was complete (idle connections only). */
  answeredAt?: number;
  closedAt?: number;
  received: string;
}

/**
 * A connection that never finishes: headers a line at a time (slowloris), a body a byte at a time
 * after its headers, or one complete request and then silence on the kept-alive connection.
 */
function openSlow(port: number, kind: SlowKind, from: string): SlowConnection {
  const socket = connect({ port, host: '127.0.0.1', localAddress: from });
  const state: SlowConnection = { kind, from, openedAt: Date.now(), received: '' };
  let trickle: NodeJS.Timeout | undefined;
  socket.on('connect', () => {
    if (kind === 'idle') {
      socket.write('GET /health HTTP/1.1\r\nHost: sms.test\r\n\r\n');
      return;
    }
    socket.write(
      kind === 'headers'
        ? 'GET /health HTTP/1.1\r\nHost: sms.test\r\n'
        : 'POST /phone/validate HTTP/1.1\r\nHost: sms.test\r\nContent-Type: application/json\r\nContent-Length: 4096\r\n\r\n{',
    );
    trickle = setInterval(
      () => socket.write(kind === 'headers' ? 'X-Slow: 1\r\n' : ' '),
      TRICKLE_EVERY_MS,
    );
  });
  socket.on('data', (chunk: Buffer) => {
    state.received += chunk.toString('latin1');
    if (kind === 'idle' && state.answeredAt === undefined) state.answeredAt = Date.now();
  });
  socket.on('error', () => undefined);
  socket.on('close', () => {
    clearInterval(trickle);
    state.closedAt = Date.now();
  });
  return state;
}

const closedWithin = (connection: SlowConnection) =>
  connection.closedAt === undefined ? Infinity : connection.closedAt - connection.openedAt;
/** Accepted and served (a 408, or the idle one's 200), rather than closed at once unread. */
const wasServed = (connection: SlowConnection) => connection.received.startsWith('HTTP/1.1 ');

/**
 * GET /health every 250 ms on one connection opened before the flood and kept alive (written by
 * hand: Node's own agent drops a connection whose advertised keep-alive is this short): whether
 * the service keeps serving the connections it has.
 */
class Monitor {
  readonly answers: { status: number; error?: string }[] = [];
  private readonly socket: Socket;
  private running = true;
  private readonly done: Promise<void>;
  private pending = '';
  private waiting?: (answer: { status: number; error?: string }) => void;

  constructor(port: number, from: string) {
    this.socket = connect({ port, host: '127.0.0.1', localAddress: from });
    this.socket.on('data', (chunk: Buffer) => {
      this.pending += chunk.toString('latin1');
      this.takeResponse();
    });
    this.socket.on('error', () => undefined);
    this.socket.on('close', () => this.waiting?.({ status: 0, error: 'connection closed' }));
    this.done = this.loop();
  }

  async stop(): Promise<void> {
    this.running = false;
    await this.done;
    this.socket.destroy();
  }

  private async loop(): Promise<void> {
    await new Promise((connected) => this.socket.once('connect', connected));
    while (this.running && !this.socket.destroyed) {
      this.answers.push(await this.probe());
      await sleep(250);
    }
  }

  private probe(): Promise<{ status: number; error?: string }> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => resolve({ status: 0, error: 'no answer within 5 s' }), 5_000);
      this.waiting = (answer) => {
        clearTimeout(timer);
        this.waiting = undefined;
        resolve(answer);
      };
      this.socket.write('GET /health HTTP/1.1\r\nHost: sms.test\r\n\r\n');
    });
  }

  /** Hands the first complete response (headers and Content-Length body) to the waiting probe. */
  private takeResponse(): void {
    const end = this.pending.indexOf('\r\n\r\n');
    if (end < 0) return;
    const head = this.pending.slice(0, end);
    const length = Number(/\r\ncontent-length: *(\d+)/i.exec(head)?.[1] ?? 0);
    if (this.pending.length < end + 4 + length) return;
    this.pending = this.pending.slice(end + 4 + length);
    this.waiting?.({ status: Number(head.split(' ')[1]) });
  }
}

/** GET /health on a fresh connection: its status, or how it failed, and how long it took. */
function newcomer(port: number, from: string): Promise<{ status: number; ms: number }> {
  const started = Date.now();
  return new Promise((resolve) => {
    const outgoing = httpRequest(
      {
        host: '127.0.0.1',
        port,
        path: '/health',
        agent: false,
        localAddress: from,
        timeout: 10_000,
      },
      (response) => {
        response.resume();
        response.on('end', () =>
          resolve({ status: response.statusCode ?? 0, ms: Date.now() - started }),
        );
      },
    );
    outgoing.on('timeout', () => outgoing.destroy(new Error('timeout')));
    outgoing.on('error', () => resolve({ status: 0, ms: Date.now() - started }));
    outgoing.end();
  });
}

/** A request whose body takes `spreadMs` to arrive in a few pieces, as over a slow network. */
function slowButHonest(port: number, from: string, spreadMs: number): Promise<string> {
  const body = JSON.stringify({ phoneNumber: '0911234567', countryCode: 'ET' });
  const pieces = [body.slice(0, 10), body.slice(10, 30), body.slice(30)];
  return new Promise((resolve) => {
    const socket = connect({ port, host: '127.0.0.1', localAddress: from });
    let received = '';
    socket.on('connect', async () => {
      socket.write(
        `POST /phone/validate HTTP/1.1\r\nHost: sms.test\r\nContent-Type: application/json\r\n` +
          `Content-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n`,
      );
      for (const piece of pieces) {
        await sleep(spreadMs / pieces.length);
        socket.write(piece);
      }
    });
    socket.on('data', (chunk: Buffer) => (received += chunk.toString('utf8')));
    socket.on('error', () => undefined);
    socket.on('close', () => resolve(received.split('\r\n')[0]));
  });
}

const portOf = (service: ServiceProcess) => Number(new URL(service.baseUrl).port);

describe('Slow clients against a low descriptor limit', () => {
  const services = new ServiceProcesses();
  const redisKeyPrefix = `test:slow-clients:${randomBytes(6).toString('hex')}:`;
  let database: { name: string; url: string };
  let fake: FakeTwilioServer;

  beforeAll(async () => {
    database = await createTestDatabase();
    fake = await startFakeTwilio();
  });

  afterAll(async () => {
    await services.cleanUp();
    await fake?.stop();
    if (database) await dropTestDatabase(database.name);
    await deleteRedisKeys(TEST_REDIS_URL, redisKeyPrefix);
  });

  const start = (extra: Record<string, string>) =>
    services.startServing(
      serviceEnvironment({
        databaseUrl: database.url,
        redisKeyPrefix,
        fake,
        extra: { ...HTTP_SETTINGS, ...extra },
      }),
      '/health/ready',
      { descriptorLimit: DESCRIPTOR_LIMIT },
    );

  describe('with the connection cap derived from the descriptor limit', () => {
    let service: ServiceProcess;
    let monitor: Monitor;
    let oneClient: SlowConnection[];
    let flood: SlowConnection[];
    let newcomers: { status: number; ms: number }[];
    let honest: string;
    let afterwards: { status: number; ms: number };

    beforeAll(async () => {
      service = await start({});
      const port = portOf(service);
      monitor = new Monitor(port, '127.0.0.200');
      honest = await slowButHonest(port, '127.0.0.201', REQUEST_TIMEOUT_MS / 2);

      // One address opens three times its share of slow connections.
      oneClient = Array.from({ length: 3 * PER_CLIENT }, (_, index) =>
        openSlow(port, (['headers', 'body', 'idle'] as const)[index % 3], '127.0.0.10'),
      );
      // Then a flood from ten more addresses, each within its share, together well past what
      // the descriptor limit can hold.
      flood = [];
      for (let address = 11; address <= 20; address += 1) {
        for (let index = 0; index < PER_CLIENT; index += 1) {
          flood.push(
            openSlow(port, (['headers', 'body', 'idle'] as const)[index % 3], `127.0.0.${address}`),
          );
        }
      }
      newcomers = [];
      for (let probe = 0; probe < 6; probe += 1) {
        newcomers.push(await newcomer(port, '127.0.0.202'));
        await sleep(300);
      }

      const everyTimeout = REQUEST_TIMEOUT_MS + KEEP_ALIVE_SLACK_MS + MARGIN_MS;
      const deadline = Date.now() + everyTimeout + 2_000;
      while (
        [...oneClient, ...flood].some((c) => c.closedAt === undefined) &&
        Date.now() < deadline
      ) {
        await sleep(100);
      }
      await monitor.stop();
      afterwards = await newcomer(port, '127.0.0.203');
    }, 60_000);

    it('cuts every slow connection in time: slowloris headers, a trickled body, an idle kept-alive one', () => {
      const limits: Record<SlowKind, number> = {
        headers: HEADERS_TIMEOUT_MS + MARGIN_MS,
        body: REQUEST_TIMEOUT_MS + MARGIN_MS,
        idle: KEEP_ALIVE_TIMEOUT_MS + KEEP_ALIVE_SLACK_MS + MARGIN_MS,
      };
      const late = [...oneClient, ...flood]
        .filter((connection) => closedWithin(connection) > limits[connection.kind])
        .map((connection) => ({ ...connection, closedWithinMs: closedWithin(connection) }));
      expect(late).toEqual([]);
    });

    it('answers a cut request with 408 in the error envelope', () => {
      const cut = [...oneClient, ...flood].filter(
        (connection) => connection.kind !== 'idle' && wasServed(connection),
      );
      expect(cut.length).toBeGreaterThan(PER_CLIENT);
      for (const connection of cut) {
        expect(connection.received).toMatch(/^HTTP\/1\.1 408 /);
        expect(connection.received).toContain('"error":"REQUEST_TIMEOUT"');
      }
    });

    it('serves a client only its share of connections at once', () => {
      const served = oneClient.filter(wasServed);
      const refused = oneClient.filter((connection) => !wasServed(connection));
      expect(served).toHaveLength(PER_CLIENT);
      expect(refused.every((connection) => closedWithin(connection) < 1_000)).toBe(true);
    });

    it('keeps serving a connection it already had, on the same connection, all along', () => {
      expect(monitor.answers.length).toBeGreaterThan(10);
      expect(monitor.answers.filter(({ status }) => status !== 200)).toEqual([]);
    });

    it('refuses new connections at once while full, never leaving one hanging', () => {
      for (const { status, ms } of newcomers) {
        expect({ status: status === 200 ? 200 : 'refused', quick: ms < 2_000 }).toEqual({
          status: expect.anything(),
          quick: true,
        });
      }
      expect(service.stdout()).toContain('HTTP_MAX_CONNECTIONS connections are open');
    });

    it('lets an honest slow request through', () => {
      expect(honest).toBe('HTTP/1.1 200 OK');
    });

    it('logs no error for the bodies it cut off: any client can send those at will', () => {
      const errors = logEntries(service).filter((entry) => Number(entry.level) >= 50);
      expect(errors).toEqual([]);
    });

    it('lives, and serves new connections again once the slow ones are gone', () => {
      if (!isRunning(service)) throw new Error(`the process exited${describeOutput(service)}`);
      expect(afterwards.status).toBe(200);
      const limits = logEntries(service).find((entry) => entry.msg === 'HTTP connection limits');
      expect(limits).toMatchObject({
        descriptorLimit: DESCRIPTOR_LIMIT,
        maxConnections: Math.floor(DESCRIPTOR_LIMIT * 0.75),
      });
    });
  });

  describe('with a connection cap above the descriptor limit (the process runs out of descriptors)', () => {
    let service: ServiceProcess;
    let monitor: Monitor;
    let flood: SlowConnection[];
    let afterwards: { status: number; ms: number };

    beforeAll(async () => {
      service = await start({
        HTTP_MAX_CONNECTIONS: '100000',
        HTTP_MAX_CONNECTIONS_PER_CLIENT: '100000',
      });
      const port = portOf(service);
      monitor = new Monitor(port, '127.0.0.200');
      await sleep(500);
      flood = Array.from({ length: DESCRIPTOR_LIMIT + 100 }, (_, index) =>
        openSlow(port, index % 2 === 0 ? 'headers' : 'body', '127.0.0.30'),
      );
      const deadline = Date.now() + REQUEST_TIMEOUT_MS + MARGIN_MS + 2_000;
      while (flood.some((c) => c.closedAt === undefined) && Date.now() < deadline) await sleep(100);
      await monitor.stop();
      afterwards = await newcomer(port, '127.0.0.203');
    }, 60_000);

    it('ran out of descriptors: some connections could not even be accepted', () => {
      expect(flood.filter((connection) => !wasServed(connection)).length).toBeGreaterThan(0);
    });

    it('keeps serving the connection it had, lives, and serves new connections after', () => {
      expect(monitor.answers.length).toBeGreaterThan(10);
      expect(monitor.answers.filter(({ status }) => status !== 200)).toEqual([]);
      expect(flood.filter((connection) => connection.closedAt === undefined)).toEqual([]);
      if (!isRunning(service)) throw new Error(`the process exited${describeOutput(service)}`);
      expect(afterwards.status).toBe(200);
    });
  });
});
