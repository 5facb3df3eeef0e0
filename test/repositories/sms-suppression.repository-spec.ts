import { randomBytes } from 'node:crypto';
import { SmsSuppressionRepository } from '../../src/sms/abuse/suppression/sms-suppression.repository';
import { Sql } from '../../src/database/sql';
import { FakeClock } from '../support/fake-clock';
import { RepositoryDatabase, openRepositoryDatabase } from '../support/repository-database';

/**
 * The SQL of suppressed numbers, against a migrated PostgreSQL: a number that bounced delivers
 * nothing until its suppression ends, a new bounce starts it over, and the question every send
 * asks costs one query for all the sends of a moment.
 */
describe('SmsSuppressionRepository', () => {
  let database: RepositoryDatabase;
  let repository: SmsSuppressionRepository;
  const NOW = new Date('2026-06-01T12:00:00.000Z');
  const later = (seconds: number) => new Date(NOW.getTime() + seconds * 1000);
  const clock = new FakeClock(NOW);
  /** Statements the repository ran. */
  let statements = 0;

  beforeAll(async () => {
    database = await openRepositoryDatabase();
    const counted = {
      rows: (text: string, values?: unknown[]) => {
        statements += 1;
        return database.sql.rows(text, values);
      },
    } as unknown as Sql;
    repository = new SmsSuppressionRepository(counted, clock);
  });

  afterAll(() => database.close());

  const newPhone = () => randomBytes(32).toString('hex');

  it('answers a suppressed number undeliverable until its suppression ends, and no other', async () => {
    const bounced = newPhone();
    const other = newPhone();
    expect(await repository.isDeliverable(bounced)).toBe(true);
    await repository.suppress(bounced, '30003', clock.now(), later(3_600));
    expect(await repository.isDeliverable(bounced)).toBe(false);
    expect(await repository.isDeliverable(other)).toBe(true);

    clock.advance(3_599_999);
    expect(await repository.isDeliverable(bounced)).toBe(false);
    clock.advance(1);
    expect(await repository.isDeliverable(bounced)).toBe(true);
  });

  it('starts a suppression over when the number bounces again, whatever callbacks race', async () => {
    const bounced = newPhone();
    await repository.suppress(bounced, '30003', later(-7_200), later(-3_600));
    expect(await repository.isDeliverable(bounced)).toBe(true);

    const now = clock.now();
    await Promise.all([
      repository.suppress(bounced, '30005', now, new Date(now.getTime() + 60_000)),
      repository.suppress(bounced, '30005', now, new Date(now.getTime() + 60_000)),
    ]);
    expect(await repository.isDeliverable(bounced)).toBe(false);
    const rows = await database.sql.rows<{ error_code: string; created_at: Date }>(
      'SELECT error_code, created_at FROM sms_suppressions WHERE phone_hash = $1',
      [bounced],
    );
    expect(rows).toEqual([{ error_code: '30005', created_at: now }]);
  });

  it('answers the sends of one moment with one query, each its own answer', async () => {
    const suppressed = newPhone();
    await repository.suppress(suppressed, '30006', clock.now(), later(86_400));
    const phones = [suppressed, newPhone(), newPhone(), suppressed, newPhone()];

    statements = 0;
    const answers = await Promise.all(phones.map((phone) => repository.isDeliverable(phone)));
    expect(answers).toEqual([false, true, true, false, true]);
    expect(statements).toBe(1);
  });
});
