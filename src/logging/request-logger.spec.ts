import { Writable } from 'node:stream';
import type { FastifyBaseLogger } from 'fastify';
import { createRootLogger } from './logger';
import { requestLoggerFactory } from './request-logger';

function rootLogger(logLevel: 'info' | 'warn') {
  const lines: Record<string, unknown>[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      lines.push(JSON.parse(chunk.toString()) as Record<string, unknown>);
      done();
    },
  });
  const root = createRootLogger({ logLevel }, sink);
  const flushed = () => new Promise((resolve) => setImmediate(resolve));
  return { root, lines, flushed };
}

describe('requestLoggerFactory', () => {
  it('writes the lines of enabled levels with the request id, and only those', async () => {
    const { root, lines, flushed } = rootLogger('warn');
    const log = requestLoggerFactory(root, { reqId: 'req-1' }, {});
    log.info('incoming request');
    log.warn({ phone: '+251911234567' }, 'something odd');
    log.error(new Error('broken'));
    await flushed();
    expect(lines.map(({ reqId, msg, phone }) => ({ reqId, msg, phone }))).toEqual([
      { reqId: 'req-1', msg: 'something odd', phone: '[redacted]' },
      { reqId: 'req-1', msg: 'broken', phone: undefined },
    ]);
  });

  it("makes pino's child only when a line is written at an enabled level", () => {
    const { root } = rootLogger('warn');
    const child = jest.spyOn(root, 'child');
    const log = requestLoggerFactory(root, { reqId: 'req-2' }, {});
    log.info({ req: { id: 'req-2' } }, 'incoming request');
    log.debug('details');
    expect(child).not.toHaveBeenCalled();
    log.warn('now it logs');
    log.warn('and again');
    expect(child).toHaveBeenCalledTimes(1);
  });

  it('answers the level and children like a pino logger', async () => {
    const { root, lines, flushed } = rootLogger('info');
    const log: FastifyBaseLogger = requestLoggerFactory(root, { reqId: 'req-3' }, {});
    expect(log.level).toBe('info');
    log.child({ step: 'inner' }).info('from a child');
    await flushed();
    expect(lines[0]).toMatchObject({ reqId: 'req-3', step: 'inner', msg: 'from a child' });
  });

  it("gives a route with logger options of its own pino's child at once", async () => {
    const { root, lines, flushed } = rootLogger('warn');
    const log = requestLoggerFactory(root, { reqId: 'req-4' }, { level: 'info' });
    log.info('a route that logs at info');
    await flushed();
    expect(lines[0]).toMatchObject({ reqId: 'req-4', msg: 'a route that logs at info' });
  });
});
