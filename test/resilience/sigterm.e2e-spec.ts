import { randomBytes } from 'node:crypto';
import { request as httpRequest } from 'node:http';
import { Client } from 'pg';
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
  waitForExit,
  waitForLogMessage,
} from '../support/service-process';
import { deleteRedisKeys } from '../support/test-app';
import { TEST_REDIS_URL } from '../support/test-environment';

/**
 * SIGTERM under traffic, on the compiled service as a real process (what a rolling deploy does
 * to it): the requests in flight finish normally, new ones are turned away at once, buffered
 * analytics are written and the process exits 0 (README "Production": SIGTERM).
 *
 * The fake Twilio holds its responses until the test lets them go, so the sends are provably in
 * flight when the signal arrives, however slow the machine. Analytics flush only every 60 s, so
 * the events of those sends, which come into being after SIGTERM, reach the database only
 * through the flush at shutdown.
 */

const IN_FLIGHT = 30;
const LATE = 5;
const MESSAGES_PATH = /\/Messages\.json$/;
/** A request turned away must be answered (or refused) while the drain is still going on. */
const REFUSAL_TIMEOUT_MS = 5_000;
/** Past this the service gives up draining and exits 1 (SHUTDOWN_TIMEOUT_MS). */
const SHUTDOWN_TIMEOUT_MS = 20_000;

interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

type Outcome = Answer | { error: string };

let counter = 0;
function nextPhone(): string {
  counter += 1;
  return `+25191${String(counter).padStart(7, '0')}`;
}

function sendBody(phoneNumber: string): string {
  return JSON.stringify({ phoneNumber, purpose: 'registration', locale: 'en' });
}

/** A send through fetch (undici's pool), as the SPA's traffic arrives. */
async function send(service: ServiceProcess, phoneNumber: string): Promise<Answer> {
  const response = await fetch(`${service.baseUrl}/sms/send-verification`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: sendBody(phoneNumber),
    signal: AbortSignal.timeout(60_000),
  });
  return {
    status: response.status,
    headers: Object.fromEntries(response.headers),
    body: await response.text(),
  };
}

/** A send on a connection of its own, as a client arriving after the signal would open one. */
function sendOnNewConnection(service: ServiceProcess, phoneNumber: string): Promise<Outcome> {
  return new Promise((resolve) => {
    const body = sendBody(phoneNumber);
    const url = new URL('/sms/send-verification', service.baseUrl);
    const outgoing = httpRequest(
      url,
      {
        method: 'POST',
        agent: false,
        headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) },
        timeout: REFUSAL_TIMEOUT_MS,
      },
      (response) => {
        let text = '';
        response.setEncoding('utf8').on('data', (chunk: string) => (text += chunk));
        response.on('end', () =>
          resolve({ status: response.statusCode ?? 0, headers: response.headers, body: text }),
        );
        response.on('error', (error: NodeJS.ErrnoException) =>
          resolve({ error: error.code ?? error.message }),
        );
      },
    );
    outgoing.on('timeout', () => outgoing.destroy(new Error('no answer (timeout)')));
    outgoing.on('error', (error: NodeJS.ErrnoException) =>
      resolve({ error: error.code ?? error.message }),
    );
    outgoing.end(body);
  });
}

async function until(condition: () => boolean, what: string, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`);
    await new Promise((wait) => setTimeout(wait, 10));
  }
}

describe('SIGTERM under traffic: in-flight requests finish, buffered analytics are written, exit 0', () => {
  const services = new ServiceProcesses();
  const redisKeyPrefix = `test:sigterm:${randomBytes(6).toString('hex')}:`;
  let database: { name: string; url: string };
  let fake: FakeTwilioServer;
  let service: ServiceProcess;

  const inFlightPhones = Array.from({ length: IN_FLIGHT }, nextPhone);
  const latePhones = Array.from({ length: LATE }, nextPhone);
  let answers: Answer[];
  let lateOutcomes: Outcome[];
  let settledBeforeRelease: number;
  let runningWhenReleased: boolean;
  let exitCode: number | null | 'still running';
  let startedAt: number;
  let shutdownStartedAt: number;
  let exitedAt: number;

  const messagesTo = (phoneNumber: string) =>
    fake.messages.filter((message) => message.to === phoneNumber);

  async function query<T>(text: string, values: unknown[] = []): Promise<T[]> {
    const client = new Client({ connectionString: database.url });
    await client.connect();
    try {
      return (await client.query(text, values)).rows as T[];
    } finally {
      await client.end();
    }
  }

  /** The verification ids behind the sends' answered `sid`s, in the answers' order. */
  async function verificationIdsOf(sent: Answer[]): Promise<string[]> {
    const sids = sent.map((answer) => (JSON.parse(answer.body) as { sid: string }).sid);
    const rows = await query<{ id: string; twilio_sid: string }>(
      `SELECT id, twilio_sid FROM sms_verifications WHERE twilio_sid = ANY($1)`,
      [sids],
    );
    const idBySid = new Map(rows.map((row) => [row.twilio_sid, row.id]));
    return sids.map((sid) => idBySid.get(sid) ?? `no verification answered as ${sid}`);
  }

  beforeAll(async () => {
    database = await createTestDatabase();
    fake = await startFakeTwilio();
    startedAt = Date.now();
    service = await services.startServing(
      serviceEnvironment({
        databaseUrl: database.url,
        redisKeyPrefix,
        fake,
        extra: {
          ENABLE_SMS_ANALYTICS: 'true',
          // The longest interval allowed: the timer cannot write the events in this test.
          ANALYTICS_FLUSH_INTERVAL_MS: '60000',
          // Twilio is held as long as the test needs; neither the client nor the drain gives up.
          TWILIO_TIMEOUT_MS: '60000',
          SHUTDOWN_TIMEOUT_MS: String(SHUTDOWN_TIMEOUT_MS),
        },
      }),
    );

    const release = fake.holdResponses();
    let settled = 0;
    const sending = inFlightPhones.map((phoneNumber) =>
      send(service, phoneNumber).finally(() => (settled += 1)),
    );
    await until(
      () =>
        fake.requests.filter((request) => MESSAGES_PATH.test(request.path)).length === IN_FLIGHT ||
        settled > 0,
      `Twilio has received all ${IN_FLIGHT} messages`,
    );

    shutdownStartedAt = Date.now();
    service.child.kill('SIGTERM');
    await waitForLogMessage(service, /^Shutting down/);
    lateOutcomes = await Promise.all(
      latePhones.map((phoneNumber) => sendOnNewConnection(service, phoneNumber)),
    );
    settledBeforeRelease = settled;
    runningWhenReleased = isRunning(service);

    release();
    answers = await Promise.all(sending);
    exitCode = await waitForExit(service, SHUTDOWN_TIMEOUT_MS + 10_000).catch(
      () => 'still running' as const,
    );
    exitedAt = Date.now();
  }, 120_000);

  afterAll(async () => {
    await services.cleanUp();
    await fake?.stop();
    if (database) await dropTestDatabase(database.name);
    await deleteRedisKeys(TEST_REDIS_URL, redisKeyPrefix);
  });

  it('keeps draining while requests are in flight, and answers each of them with its normal 200', () => {
    expect(settledBeforeRelease).toBe(0);
    expect(runningWhenReleased).toBe(true);
    expect(answers.map((answer) => answer.status)).toEqual(inFlightPhones.map(() => 200));
    answers.forEach((answer, index) => {
      expect(JSON.parse(answer.body)).toMatchObject({
        to: inFlightPhones[index],
        status: 'pending',
        valid: false,
        sid: expect.stringMatching(/^VE[0-9a-f]{32}$/),
      });
    });
    for (const phoneNumber of inFlightPhones) expect(messagesTo(phoneNumber)).toHaveLength(1);
  });

  it('turns requests arriving after SIGTERM away at once (connection refused or 503), acting on none', () => {
    for (const outcome of lateOutcomes) {
      if ('error' in outcome) {
        // The listener is closed; a connection the kernel had queued as it closed is reset.
        expect(outcome.error).toMatch(/^(ECONNREFUSED|ECONNRESET)$/);
      } else {
        expect(outcome.status).toBe(503);
        expect(outcome.headers.connection).toBe('close');
      }
    }
    // None reached Twilio, not even after the hold was let go.
    const lateToTwilio = fake.requests.filter((request) => latePhones.includes(request.form.To));
    expect(lateToTwilio).toEqual([]);
  });

  it('exits with code 0 once the last request is answered', () => {
    if (exitCode !== 0) throw new Error(`exit code: ${exitCode}${describeOutput(service)}`);
    // Exit 0 means the drain ended before SHUTDOWN_TIMEOUT_MS, which would have exited 1.
    expect(exitedAt - shutdownStartedAt).toBeLessThan(SHUTDOWN_TIMEOUT_MS);
  });

  it('logs an orderly shutdown and no error or warning', () => {
    const entries = logEntries(service);
    const messages = entries.map((entry) => String(entry.msg));
    const shutdownAt = messages.findIndex((message) => /^Shutting down/.test(message));
    expect(shutdownAt).toBeGreaterThan(-1);
    expect(messages.slice(shutdownAt)).toContainEqual(expect.stringMatching(/^Stopped/));
    const problems = entries.filter(
      (entry, index) =>
        Number(entry.level) >= 50 || (index > shutdownAt && Number(entry.level) >= 40),
    );
    expect(problems).toEqual([]);
    expect(service.stderr()).toBe('');
  });

  it('has written the verification of every answered send, with its message', async () => {
    const ids = await verificationIdsOf(answers);
    const rows = await query<{ id: string; status: string; message_sid: string | null }>(
      `SELECT id, status, message_sid FROM sms_verifications WHERE id = ANY($1)`,
      [ids],
    );
    expect(rows).toHaveLength(IN_FLIGHT);
    const sidByVerification = new Map(rows.map((row) => [row.id, row.message_sid]));
    inFlightPhones.forEach((phoneNumber, index) => {
      expect(sidByVerification.get(ids[index])).toBe(messagesTo(phoneNumber)[0].sid);
    });
    expect(rows.every((row) => row.status === 'pending')).toBe(true);
  });

  it('has written every analytics event of those sends in the flush at shutdown', async () => {
    // The events came into being after SIGTERM (a request's events are recorded as it finishes,
    // and every one was waiting for Twilio then), and the periodic flush had not yet come round.
    expect(settledBeforeRelease).toBe(0);
    expect(exitedAt - startedAt).toBeLessThan(60_000);
    const ids = await verificationIdsOf(answers);
    const events = await query<{ verification_id: string; provider_sid: string }>(
      `SELECT verification_id, provider_sid FROM sms_events WHERE status = 'sent'`,
    );
    expect(events.map((event) => event.verification_id).sort()).toEqual([...ids].sort());
    const sids = inFlightPhones.map((phoneNumber) => messagesTo(phoneNumber)[0].sid);
    expect(events.map((event) => event.provider_sid).sort()).toEqual([...sids].sort());

    const [rollup] = await query<{ events: string }>(
      `SELECT COALESCE(sum(events), 0) AS events FROM sms_event_rollups WHERE status = 'sent'`,
    );
    expect(Number(rollup.events)).toBe(IN_FLIGHT);
    const tracked = await query<{ sid: string }>(`SELECT sid FROM sms_messages`);
    expect(tracked.map((message) => message.sid).sort()).toEqual([...sids].sort());
  });
});
