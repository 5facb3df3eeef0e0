import { Writable } from 'node:stream';
import { requestContext } from '../common/request-context';
import { createRootLogger } from './logger';
import { PinoNestLogger } from './pino-nest-logger';

function capture() {
  const lines: Record<string, unknown>[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      lines.push(JSON.parse(chunk.toString()) as Record<string, unknown>);
      done();
    },
  });
  return { lines, logger: new PinoNestLogger(createRootLogger({ logLevel: 'info' }, sink)) };
}

describe('PinoNestLogger', () => {
  it("tags a line written while serving a request with the request's id", async () => {
    const { lines, logger } = capture();
    await requestContext.run({ requestId: 'req-42', ip: '192.0.2.1' }, async () => {
      await Promise.resolve();
      logger.log({ userId: 'u1' }, 'password reset by SMS', 'AuthService');
      logger.warn('a warning', 'AuthService');
    });
    logger.log('outside any request', 'Boot');
    await new Promise((resolve) => setImmediate(resolve));
    expect(lines.map((line) => [line.msg, line.reqId, line.context])).toEqual([
      ['password reset by SMS', 'req-42', 'AuthService'],
      ['a warning', 'req-42', 'AuthService'],
      ['outside any request', undefined, 'Boot'],
    ]);
  });
});
