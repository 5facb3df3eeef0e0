import { ChildProcess, fork } from 'node:child_process';
import { join } from 'node:path';

export type FakeTwilioCommand = { id: number } & (
  { type: 'latency'; ms: number } | { type: 'reset' } | { type: 'messages' } | { type: 'counts' }
);

export interface FakeTwilioReply {
  id: number;
  result: unknown;
}

export interface FakeTwilioReady {
  type: 'ready';
  httpUrl: string;
  httpsUrl?: string;
}

export interface FakeTwilioCounts {
  requests: number;
  messages: number;
  tlsHandshakes: number;
}

export interface SentMessage {
  to: string;
  body: string;
}

export interface FakeTwilioProcessOptions {
  accountSid: string;
  authToken: string;
  latencyMs: number;
  tls?: { certificate: string; key: string };
}

/** The parent's handle on fake-twilio.child.ts. */
export class FakeTwilioProcess {
  private nextId = 1;
  private readonly pending = new Map<number, (result: unknown) => void>();

  private constructor(
    private readonly child: ChildProcess,
    readonly httpUrl: string,
    readonly httpsUrl: string | undefined,
  ) {
    child.on('message', (message: FakeTwilioReply) => {
      this.pending.get(message.id)?.(message.result);
      this.pending.delete(message.id);
    });
  }

  static async start(options: FakeTwilioProcessOptions): Promise<FakeTwilioProcess> {
    const child = fork(join(__dirname, 'fake-twilio.child.js'), [], {
      env: {
        PATH: process.env.PATH,
        BENCH_TWILIO_ACCOUNT_SID: options.accountSid,
        BENCH_TWILIO_AUTH_TOKEN: options.authToken,
        BENCH_TWILIO_LATENCY_MS: String(options.latencyMs),
        BENCH_TLS_CERT: options.tls?.certificate ?? '',
        BENCH_TLS_KEY: options.tls?.key ?? '',
      },
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    const ready = await new Promise<FakeTwilioReady>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error('fake Twilio did not start in 10 s')),
        10_000,
      );
      child.once('message', (message: FakeTwilioReady) => {
        clearTimeout(timer);
        resolve(message);
      });
      child.once('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`fake Twilio exited with ${code}`));
      });
    });
    return new FakeTwilioProcess(child, ready.httpUrl, ready.httpsUrl);
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  setLatency(ms: number): Promise<unknown> {
    return this.command({ type: 'latency', ms });
  }

  reset(): Promise<unknown> {
    return this.command({ type: 'reset' });
  }

  async messages(): Promise<SentMessage[]> {
    return (await this.command({ type: 'messages' })) as SentMessage[];
  }

  /** Requests and messages since the last reset, and TLS connections the app opened. */
  async counts(): Promise<FakeTwilioCounts> {
    return (await this.command({ type: 'counts' })) as FakeTwilioCounts;
  }

  async stop(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    const exited = new Promise((resolve) => this.child.once('exit', resolve));
    this.child.kill('SIGTERM');
    const timer = setTimeout(() => this.child.kill('SIGKILL'), 3_000);
    await exited;
    clearTimeout(timer);
  }

  private command(command: Record<string, unknown>): Promise<unknown> {
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`fake Twilio: no answer to ${command.type}`)),
        30_000,
      );
      this.pending.set(id, (result) => {
        clearTimeout(timer);
        resolve(result);
      });
      this.child.send({ ...command, id });
    });
  }
}
