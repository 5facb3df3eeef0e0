import { HealthIndicatorService } from '@nestjs/terminus';
import { Sql } from '../database/sql';
import { DatabaseHealthIndicator } from './database.health';

function indicatorWith(rows: () => Promise<unknown[]>): DatabaseHealthIndicator {
  return new DatabaseHealthIndicator({ rows } as unknown as Sql, new HealthIndicatorService());
}

describe('DatabaseHealthIndicator', () => {
  it('is up when the database answers', async () => {
    const indicator = indicatorWith(async () => [{ '?column?': 1 }]);

    expect(await indicator.check('database')).toEqual({ database: { status: 'up' } });
  });

  it('is down, naming no host or port, when the database refuses connections', async () => {
    const indicator = indicatorWith(async () => {
      throw Object.assign(new Error('connect ECONNREFUSED 10.0.0.5:5432'), {
        code: 'ECONNREFUSED',
      });
    });

    expect(await indicator.check('database')).toEqual({
      database: { status: 'down', message: 'The database is unreachable' },
    });
  });

  it('is down once the timeout passes without an answer', async () => {
    const indicator = indicatorWith(() => new Promise(() => undefined));

    const started = Date.now();
    expect(await indicator.check('database', 50)).toMatchObject({ database: { status: 'down' } });
    expect(Date.now() - started).toBeLessThan(1_000);
  });
});
