import { Logger } from '@nestjs/common';
import twilio from 'twilio';
import { TwilioCircuit } from './twilio-circuit';

const FAILURES = 3;
const HALF_OPEN_AFTER_MS = 30_000;

function restException(status: number, code: number): Error {
  return new twilio.RestException({
    statusCode: status,
    body: { code, message: 'Twilio says no', status },
  });
}

function refusedConnection(): Error {
  return Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:1'), {
    name: 'AxiosError',
    code: 'ECONNREFUSED',
    isAxiosError: true,
  });
}

/** A Twilio call that fails with `error`, counting how often it ran. */
function failingWith(error: unknown): jest.Mock<Promise<never>, []> {
  return jest.fn(() => Promise.reject(error));
}

const succeeding = (): jest.Mock<Promise<string>, []> => jest.fn(() => Promise.resolve('SM1'));

describe('TwilioCircuit', () => {
  let circuit: TwilioCircuit;
  let warnings: jest.SpyInstance;
  let infos: jest.SpyInstance;

  beforeEach(() => {
    jest.useFakeTimers({ now: new Date('2026-11-24T10:00:00Z') });
    warnings = jest.spyOn(Logger.prototype, 'warn').mockImplementation(() => undefined);
    infos = jest.spyOn(Logger.prototype, 'log').mockImplementation(() => undefined);
    circuit = new TwilioCircuit('twilio-messaging', {
      failures: FAILURES,
      halfOpenAfterMs: HALF_OPEN_AFTER_MS,
    });
  });

  afterEach(() => {
    jest.useRealTimers();
    jest.restoreAllMocks();
  });

  async function trip(): Promise<void> {
    for (let index = 0; index < FAILURES; index += 1) {
      await expect(circuit.run(failingWith(restException(503, 20503)))).rejects.toThrow();
    }
  }

  it('passes results and errors through unchanged, calling Twilio exactly once', async () => {
    const send = succeeding();
    await expect(circuit.run(send)).resolves.toBe('SM1');
    expect(send).toHaveBeenCalledTimes(1);

    const outage = restException(500, 20500);
    const failing = failingWith(outage);
    await expect(circuit.run(failing)).rejects.toBe(outage);
    expect(failing).toHaveBeenCalledTimes(1);

    const refusal = restException(403, 60410);
    await expect(circuit.run(failingWith(refusal))).rejects.toBe(refusal);
  });

  it('opens after consecutive outages and then fails fast without calling Twilio', async () => {
    await trip();
    expect(circuit.isOpen).toBe(true);

    const send = succeeding();
    await expect(circuit.run(send)).rejects.toMatchObject({
      code: 'SMS_PROVIDER_UNAVAILABLE',
      kind: 'unavailable',
      retryAfterSeconds: 30,
    });
    expect(send).not.toHaveBeenCalled();
  });

  it('answers with the time left open, at least one second', async () => {
    await trip();

    jest.advanceTimersByTime(10_500);
    await expect(circuit.run(succeeding())).rejects.toMatchObject({ retryAfterSeconds: 20 });
    jest.advanceTimersByTime(19_000);
    await expect(circuit.run(succeeding())).rejects.toMatchObject({ retryAfterSeconds: 1 });
  });

  it('counts refused connections like 5xx', async () => {
    for (let index = 0; index < FAILURES; index += 1) {
      await expect(circuit.run(failingWith(refusedConnection()))).rejects.toThrow();
    }
    expect(circuit.isOpen).toBe(true);
  });

  it.each([
    [403, 60410],
    [400, 60200],
    [404, 20404],
    [429, 60202],
    [429, 20429],
  ])('never opens on %i/%i answers', async (status, code) => {
    for (let index = 0; index < FAILURES * 3; index += 1) {
      await expect(circuit.run(failingWith(restException(status, code)))).rejects.toThrow();
    }
    expect(circuit.isOpen).toBe(false);
    await expect(circuit.run(succeeding())).resolves.toBe('SM1');
  });

  it('counts only consecutive outages: any answer from Twilio starts the count again', async () => {
    for (const answer of [succeeding(), failingWith(restException(403, 60410))]) {
      for (let index = 0; index < FAILURES - 1; index += 1) {
        await expect(circuit.run(failingWith(restException(503, 20503)))).rejects.toThrow();
      }
      await circuit.run(answer).catch(() => undefined);
    }
    expect(circuit.isOpen).toBe(false);
  });

  it('lets one probe through after the open time and closes when it succeeds', async () => {
    await trip();
    jest.advanceTimersByTime(HALF_OPEN_AFTER_MS);

    const probe = succeeding();
    await expect(circuit.run(probe)).resolves.toBe('SM1');
    expect(probe).toHaveBeenCalledTimes(1);
    expect(circuit.isOpen).toBe(false);
    await expect(circuit.run(succeeding())).resolves.toBe('SM1');
  });

  it('holds other calls while the probe is out, then lets them through', async () => {
    await trip();
    jest.advanceTimersByTime(HALF_OPEN_AFTER_MS);

    let answerProbe!: (sid: string) => void;
    const probe = circuit.run(() => new Promise<string>((resolve) => (answerProbe = resolve)));
    const waiting = succeeding();
    const held = circuit.run(waiting);
    await Promise.resolve();
    expect(waiting).not.toHaveBeenCalled();

    answerProbe('SM0');
    await expect(probe).resolves.toBe('SM0');
    await expect(held).resolves.toBe('SM1');
    expect(waiting).toHaveBeenCalledTimes(1);
  });

  it('closes when the probe gets an answer about the request (Twilio is up)', async () => {
    await trip();
    jest.advanceTimersByTime(HALF_OPEN_AFTER_MS);

    await expect(circuit.run(failingWith(restException(403, 60410)))).rejects.toMatchObject({
      code: 60410,
    });
    expect(circuit.isOpen).toBe(false);
  });

  it('opens again for the full time when the probe fails', async () => {
    await trip();
    jest.advanceTimersByTime(HALF_OPEN_AFTER_MS);

    await expect(circuit.run(failingWith(restException(503, 20503)))).rejects.toMatchObject({
      status: 503,
    });
    const send = succeeding();
    await expect(circuit.run(send)).rejects.toMatchObject({ retryAfterSeconds: 30 });
    expect(send).not.toHaveBeenCalled();
  });

  it('logs each opening once as a warning and the closing as info, without Twilio messages', async () => {
    await trip();
    await circuit.run(succeeding()).catch(() => undefined);
    await circuit.run(succeeding()).catch(() => undefined);
    expect(warnings).toHaveBeenCalledTimes(1);
    expect(warnings).toHaveBeenCalledWith(
      expect.objectContaining({
        api: 'twilio-messaging',
        lastFailure: 'HTTP 503, Twilio error 20503',
      }),
      expect.stringContaining('circuit opened'),
    );
    expect(JSON.stringify(warnings.mock.calls)).not.toContain('Twilio says no');
    expect(infos).not.toHaveBeenCalled();

    jest.advanceTimersByTime(HALF_OPEN_AFTER_MS);
    await circuit.run(succeeding());
    await circuit.run(succeeding());
    expect(infos).toHaveBeenCalledTimes(1);
    expect(infos).toHaveBeenCalledWith(
      { api: 'twilio-messaging' },
      expect.stringContaining('circuit closed'),
    );
    expect(warnings).toHaveBeenCalledTimes(1);
  });
});
