import { Writable } from 'node:stream';
import { createRootLogger } from './logger';

describe('createRootLogger', () => {
  it('logs the path of a request without a phone number a stranger put in it', async () => {
    const lines: Record<string, unknown>[] = [];
    const sink = new Writable({
      write(chunk: Buffer, _encoding, done) {
        lines.push(JSON.parse(chunk.toString()) as Record<string, unknown>);
        done();
      },
    });
    const logger = createRootLogger({ logLevel: 'info' }, sink);
    logger.info(
      { req: { id: 'r1', method: 'GET', url: '/+251911234567/123456?to=x' } },
      'incoming',
    );
    logger.info({ req: { id: 'r2', method: 'GET', url: '/health' } }, 'incoming');
    await new Promise((resolve) => setImmediate(resolve));
    expect(lines.map((line) => (line.req as { path: string }).path)).toEqual([
      '/[redacted-number]/123456',
      '/health',
    ]);
  });
});
