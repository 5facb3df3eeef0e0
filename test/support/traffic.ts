import { setTimeout as sleep } from 'node:timers/promises';
import { FakeTwilioServer } from '../fakes/fake-twilio-server';
import { TestApp } from './test-app';

/** One request of the traffic and how it was answered. */
export interface Exchange {
  route: 'send' | 'verify' | 'live' | 'ready' | 'countries';
  phoneNumber?: string;
  startedAt: number;
  finishedAt: number;
  /** 0 when no answer came in time. */
  status: number;
  body: Record<string, unknown>;
  retryAfter?: string;
}

export interface TrafficOptions {
  /** A number never used before, per send. */
  nextPhone: () => string;
  purpose: 'registration' | 'login';
  /** A request taking twice this is given up (status 0). */
  answerWithinMs: number;
  workers?: number;
  pauseBetweenRequestsMs?: number;
  /** Every third round, also GET /phone/countries: a route that needs neither database nor Redis. */
  askForCountries?: boolean;
}

const PROBE_PATHS = {
  live: '/health/live',
  ready: '/health/ready',
  countries: '/phone/countries',
} as const;

export function durationOf(exchange: Pick<Exchange, 'startedAt' | 'finishedAt'>): number {
  return exchange.finishedAt - exchange.startedAt;
}

/**
 * A steady stream of sends to fresh numbers from a few concurrent clients, each also checking the
 * code of an earlier accepted send (read from the fake Twilio, as the user reads the SMS), for
 * suites that break a dependency while it runs.
 */
export class Traffic {
  readonly exchanges: Exchange[] = [];
  /** Accepted sends: phone number → the sid answered. */
  readonly accepted = new Map<string, string>();
  readonly verified = new Set<string>();
  private readonly awaitingCheck: string[] = [];
  private running = false;
  private workers: Promise<void>[] = [];

  constructor(
    /** The app in this process, or `{ http: () => supertest.agent(baseUrl) }` for a process. */
    private readonly service: Pick<TestApp, 'http'>,
    private readonly fake: FakeTwilioServer,
    private readonly options: TrafficOptions,
  ) {}

  start(): void {
    this.running = true;
    this.workers = Array.from({ length: this.options.workers ?? 4 }, () => this.work());
  }

  async stop(): Promise<void> {
    this.running = false;
    await Promise.all(this.workers);
  }

  async send(phoneNumber = this.options.nextPhone()): Promise<Exchange> {
    const exchange = await this.exchange('send', '/sms/send-verification', phoneNumber, {
      phoneNumber,
      purpose: this.options.purpose,
      locale: 'en',
    });
    if (exchange.status === 200) {
      this.accepted.set(phoneNumber, String(exchange.body.sid));
      this.awaitingCheck.push(phoneNumber);
    }
    return exchange;
  }

  async verify(phoneNumber: string): Promise<Exchange> {
    const exchange = await this.exchange('verify', '/sms/verify-code', phoneNumber, {
      phoneNumber,
      code: codeSentTo(this.fake, phoneNumber),
      purpose: this.options.purpose,
    });
    if (exchange.status === 200 && exchange.body.valid === true) this.verified.add(phoneNumber);
    return exchange;
  }

  /** Checks the code of every accepted send not verified yet: how each check was answered. */
  async verifyTheRest(): Promise<{ phoneNumber: string; status: number; valid: unknown }[]> {
    const unchecked = [...this.accepted.keys()].filter((phone) => !this.verified.has(phone));
    const outcomes = [];
    for (const phoneNumber of unchecked) {
      const checked = await this.verify(phoneNumber);
      outcomes.push({ phoneNumber, status: checked.status, valid: checked.body.valid });
    }
    return outcomes;
  }

  probe(route: keyof typeof PROBE_PATHS): Promise<Exchange> {
    return this.exchange(route, PROBE_PATHS[route]);
  }

  private async work(): Promise<void> {
    for (let round = 0; this.running; round += 1) {
      await this.send();
      const phoneNumber = round % 2 === 1 ? this.awaitingCheck.shift() : undefined;
      if (phoneNumber) {
        const checked = await this.verify(phoneNumber);
        // The check did not happen: the user would try the same code again later.
        if (checked.status !== 200) this.awaitingCheck.push(phoneNumber);
      }
      if (this.options.askForCountries && round % 3 === 0) await this.probe('countries');
      await sleep(this.options.pauseBetweenRequestsMs ?? 20);
    }
  }

  private async exchange(
    route: Exchange['route'],
    path: string,
    phoneNumber?: string,
    body?: Record<string, unknown>,
  ): Promise<Exchange> {
    const startedAt = Date.now();
    const request = body
      ? this.service.http().post(path).send(body)
      : this.service.http().get(path);
    let answer: Pick<Exchange, 'status' | 'body' | 'retryAfter'>;
    try {
      const response = await request.timeout(this.options.answerWithinMs * 2);
      answer = {
        status: response.status,
        body: response.body as Record<string, unknown>,
        retryAfter: response.headers['retry-after'] as string | undefined,
      };
    } catch (error) {
      answer = { status: 0, body: { error: String(error) } };
    }
    const exchange = { route, phoneNumber, startedAt, finishedAt: Date.now(), ...answer };
    this.exchanges.push(exchange);
    return exchange;
  }
}

export function codeSentTo(fake: FakeTwilioServer, phoneNumber: string): string {
  const body = fake.lastMessageTo(phoneNumber)?.body ?? '';
  const match = /(\d{6})/.exec(body);
  if (!match) throw new Error(`no code in the SMS to ${phoneNumber}: "${body}"`);
  return match[1];
}

/** When each step of an outage happened, in Date.now() milliseconds (0: never). */
export interface OutageTimeline {
  stopRequested: number;
  down: number;
  startRequested: number;
  up: number;
  /** The first send answered 200 after `up`. */
  recovered: number;
}

/**
 * Runs `traffic` through an outage: some traffic first, `stop()` the dependency, probe liveness and
 * readiness halfway through `outageMs`, `start()` it again, then send until one is accepted (at
 * most `recoveryWithinMs`) and a little more, and stop the traffic.
 */
export async function runThroughOutage(
  traffic: Traffic,
  dependency: { stop(): Promise<void>; start(): Promise<void> },
  { outageMs, recoveryWithinMs }: { outageMs: number; recoveryWithinMs: number },
): Promise<{ timeline: OutageTimeline; probesWhileDown: [live: Exchange, ready: Exchange] }> {
  const timeline: OutageTimeline = {
    stopRequested: 0,
    down: 0,
    startRequested: 0,
    up: 0,
    recovered: 0,
  };
  traffic.start();
  await sleep(1_500);

  timeline.stopRequested = Date.now();
  await dependency.stop();
  timeline.down = Date.now();
  await sleep(outageMs / 2);
  const probesWhileDown: [Exchange, Exchange] = [
    await traffic.probe('live'),
    await traffic.probe('ready'),
  ];
  await sleep(outageMs / 2);

  timeline.startRequested = Date.now();
  await dependency.start();
  timeline.up = Date.now();
  while (Date.now() - timeline.up < recoveryWithinMs) {
    const probe = await traffic.send();
    if (probe.status === 200) {
      timeline.recovered = probe.finishedAt;
      break;
    }
    await sleep(100);
  }
  await sleep(1_500);
  await traffic.stop();
  return { timeline, probesWhileDown };
}
