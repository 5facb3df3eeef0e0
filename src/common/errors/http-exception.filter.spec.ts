import { ArgumentsHost, Logger, NotFoundException } from '@nestjs/common';
import { Clock } from '../clock';
import { HttpExceptionFilter, toEnvelope } from './http-exception.filter';
import { OUTAGE_LOG_INTERVAL_MS } from './outage-log';
import { ProductError } from './product-error';

class StillClock extends Clock {
  constructor(private current = Date.parse('2026-11-25T12:00:00Z')) {
    super();
  }

  now(): Date {
    return new Date(this.current);
  }

  advance(milliseconds: number): void {
    this.current += milliseconds;
  }
}

function pgError(message: string, code: string): Error {
  return Object.assign(new Error(message), { code });
}

const refused = () => pgError('connect ECONNREFUSED 10.0.0.5:5432', 'ECONNREFUSED');

/** A reply that records what the filter sent; `clientGone`: its connection was already closed. */
function replyRecorder({ clientGone = false } = {}) {
  const sent: { status?: number; headers?: Record<string, string>; body?: unknown } = {};
  const reply = {
    raw: { socket: { destroyed: clientGone } },
    headers(headers: Record<string, string>) {
      sent.headers = headers;
      return reply;
    },
    status(status: number) {
      sent.status = status;
      return reply;
    },
    send(body: unknown) {
      sent.body = body;
      return reply;
    },
  };
  const host = { switchToHttp: () => ({ getResponse: () => reply }) } as unknown as ArgumentsHost;
  return { sent, host };
}

describe('toEnvelope', () => {
  it('answers a database that is down with 503, Retry-After and the envelope', () => {
    expect(toEnvelope(refused())).toEqual({
      status: 503,
      body: {
        success: false,
        error: 'SERVICE_UNAVAILABLE',
        message: 'The service is temporarily unavailable. Please try again shortly.',
        retryAfter: 5,
      },
      headers: { 'Retry-After': '5' },
    });
  });

  it('answers a restarting database (57P01, 57P03) and a pool timeout the same way', () => {
    for (const error of [
      pgError('terminating connection due to administrator command', '57P01'),
      pgError('the database system is starting up', '57P03'),
      new Error('timeout exceeded when trying to connect'),
    ]) {
      expect(toEnvelope(error)).toMatchObject({ status: 503, headers: { 'Retry-After': '5' } });
    }
  });

  it('answers any other unexpected error with 500 and nothing of the error', () => {
    expect(toEnvelope(pgError('duplicate key value violates "x_pkey"', '23505'))).toEqual({
      status: 500,
      body: { success: false, error: 'INTERNAL_ERROR', message: 'An unexpected error occurred.' },
      headers: {},
    });
  });

  it("keeps the product's own errors and Nest's HTTP errors as they are", () => {
    const conflict = new ProductError('SOME_CONFLICT', 'It changed.', 'conflict');
    expect(toEnvelope(conflict)).toMatchObject({ status: 409, body: { error: 'SOME_CONFLICT' } });
    expect(toEnvelope(new NotFoundException())).toMatchObject({
      status: 404,
      body: { error: 'NOT_FOUND' },
    });
  });
});

describe('HttpExceptionFilter logging', () => {
  let clock: StillClock;
  let filter: HttpExceptionFilter;
  let warn: jest.SpyInstance;
  let error: jest.SpyInstance;

  beforeEach(() => {
    clock = new StillClock();
    filter = new HttpExceptionFilter(clock);
    warn = jest.spyOn(Logger.prototype, 'warn').mockImplementation(() => undefined);
    error = jest.spyOn(Logger.prototype, 'error').mockImplementation(() => undefined);
  });
  afterEach(() => jest.restoreAllMocks());

  it('logs an outage once per cause and interval, then how many answers went unlogged', () => {
    for (let request = 0; request < 3; request += 1) filter.catch(refused(), replyRecorder().host);
    filter.catch(pgError('the database system is starting up', '57P03'), replyRecorder().host);
    clock.advance(OUTAGE_LOG_INTERVAL_MS);
    filter.catch(refused(), replyRecorder().host);

    expect(warn.mock.calls).toEqual([
      [
        { errorName: 'Error', errorCode: 'ECONNREFUSED', repeatsSinceLastLine: 0 },
        'dependency unavailable',
      ],
      [
        { errorName: 'Error', errorCode: '57P03', repeatsSinceLastLine: 0 },
        'dependency unavailable',
      ],
      [
        { errorName: 'Error', errorCode: 'ECONNREFUSED', repeatsSinceLastLine: 2 },
        'dependency unavailable',
      ],
    ]);
    expect(error).not.toHaveBeenCalled();
  });

  it("logs a dependency's code, never its message (which names hosts and queries)", () => {
    filter.catch(refused(), replyRecorder().host);

    expect(JSON.stringify(warn.mock.calls)).not.toContain('10.0.0.5');
  });

  it('sends the 503 for every request, logged or not', () => {
    const first = replyRecorder();
    const second = replyRecorder();
    filter.catch(refused(), first.host);
    filter.catch(refused(), second.host);

    expect(second.sent).toEqual(first.sent);
    expect(second.sent).toMatchObject({ status: 503, headers: { 'Retry-After': '5' } });
  });

  it('logs no outage for a request whose client went away (a body cut off: ECONNRESET)', () => {
    const aborted = pgError('aborted', 'ECONNRESET');
    filter.catch(aborted, replyRecorder({ clientGone: true }).host);

    expect(warn).not.toHaveBeenCalled();
    expect(error).not.toHaveBeenCalled();
    filter.catch(aborted, replyRecorder().host);
    expect(warn).toHaveBeenCalledTimes(1);
  });

  it('logs no error or stack for any failure of a request whose client went away', () => {
    filter.catch(new Error('aborted'), replyRecorder({ clientGone: true }).host);
    filter.catch(new TypeError('boom'), replyRecorder({ clientGone: true }).host);

    expect(error).not.toHaveBeenCalled();
    expect(warn).not.toHaveBeenCalled();
  });

  it('logs an unexpected error with its stack, every time', () => {
    filter.catch(new TypeError('boom'), replyRecorder().host);
    filter.catch(new TypeError('boom'), replyRecorder().host);

    expect(error).toHaveBeenCalledTimes(2);
    expect(warn).not.toHaveBeenCalled();
  });
});
