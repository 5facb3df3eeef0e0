import { EventEmitter } from 'node:events';
import { Clock } from '../common/clock';
import { OUTAGE_LOG_INTERVAL_MS } from '../common/errors/outage-log';
import { logStrayRejections } from './stray-rejections';

class StillClock extends Clock {
  private current = Date.parse('2026-12-04T12:00:00Z');

  now(): Date {
    return new Date(this.current);
  }

  advance(milliseconds: number): void {
    this.current += milliseconds;
  }
}

function guarded() {
  const events = new EventEmitter();
  const clock = new StillClock();
  const lines: { fields: Record<string, unknown>; message: string }[] = [];
  const logger = {
    error: (fields: Record<string, unknown>, message: string) => lines.push({ fields, message }),
  };
  logStrayRejections(logger as never, clock, events as unknown as NodeJS.Process);
  const reject = (reason: unknown) => events.emit('unhandledRejection', reason, Promise.resolve());
  return { reject, clock, lines };
}

/** Two errors thrown from the same line have the same stack. */
function failedPriceFetch(): Error {
  return Object.assign(new Error('connect ECONNREFUSED 10.0.0.5:5432'), { code: 'ECONNREFUSED' });
}

describe('logStrayRejections', () => {
  it('logs a stray rejection with its stack', () => {
    const { reject, lines } = guarded();
    const error = failedPriceFetch();

    reject(error);

    expect(lines).toEqual([
      {
        fields: { err: error, repeatsSinceLastLine: 0 },
        message: 'Unhandled promise rejection; the process keeps serving',
      },
    ]);
    expect((lines[0].fields.err as Error).stack).toContain('failedPriceFetch');
  });

  it('logs one line per origin every 30 s, then how many went unlogged', () => {
    const { reject, clock, lines } = guarded();

    // The same line each time: the same stack.
    for (let request = 0; request < 6; request += 1) {
      if (request === 5) clock.advance(OUTAGE_LOG_INTERVAL_MS);
      reject(failedPriceFetch());
      if (request === 0) reject(new TypeError('another origin'));
    }

    expect(
      lines.map(({ fields }) => [(fields.err as Error).name, fields.repeatsSinceLastLine]),
    ).toEqual([
      ['Error', 0],
      ['TypeError', 0],
      ['Error', 4],
    ]);
  });

  it('logs a rejection with something that is not an error', () => {
    const { reject, lines } = guarded();

    reject('gone');

    expect((lines[0].fields.err as Error).message).toBe('non-error rejection: gone');
  });
});
