import { DailySpendRepository } from '../../src/sms/abuse/budget/daily-spend.repository';
import { RepositoryDatabase, openRepositoryDatabase } from '../support/repository-database';

/**
 * The SQL of the daily SMS budget, against a migrated PostgreSQL: concurrent sends (on any
 * instance) never take a day past its budget, and what is given back is given back once.
 */
describe('DailySpendRepository', () => {
  let database: RepositoryDatabase;
  let repository: DailySpendRepository;
  const NOW = new Date('2026-06-01T12:00:00.000Z');

  beforeAll(async () => {
    database = await openRepositoryDatabase();
    repository = new DailySpendRepository(database.sql);
  });

  afterAll(() => database.close());

  it('never reserves past the budget, however many sends race on a day not yet started', async () => {
    const day = '2026-06-01';
    const reservations = await Promise.all(
      Array.from({ length: 30 }, () => repository.reserve(day, 'USD', 0.05, 1, NOW)),
    );
    // 20 × 0.05 is exactly the budget: the statement adds in numeric, not in floating point.
    expect(reservations.filter(Boolean)).toHaveLength(20);
    expect(await repository.spent(day)).toBe(1);
    const [row] = await database.sql.rows<{ currency: string; amount: string }>(
      'SELECT currency, amount FROM sms_daily_spend WHERE day = $1',
      [day],
    );
    expect(row).toEqual({ currency: 'USD', amount: '1.000000' });
  });

  it('adds nothing for a send that does not fit, while a smaller one still fits', async () => {
    const day = '2026-06-02';
    expect(await repository.reserve(day, 'USD', 0.7, 1, NOW)).toBe(true);
    expect(await repository.reserve(day, 'USD', 0.5, 1, NOW)).toBe(false);
    expect(await repository.spent(day)).toBe(0.7);
    expect(await repository.reserve(day, 'USD', 0.3, 1, NOW)).toBe(true);
    expect(await repository.spent(day)).toBe(1);
  });

  it('keeps days apart, and answers 0 for a day with no send', async () => {
    expect(await repository.spent('2026-06-03')).toBe(0);
    expect(await repository.reserve('2026-06-03', 'USD', 0.9, 1, NOW)).toBe(true);
    expect(await repository.reserve('2026-06-04', 'USD', 0.9, 1, NOW)).toBe(true);
    expect(await repository.spent('2026-06-03')).toBe(0.9);
    expect(await repository.spent('2026-06-05')).toBe(0);
  });

  it('gives a reservation back on its own day only, and never below nothing spent', async () => {
    await repository.reserve('2026-06-06', 'USD', 0.4, 1, NOW);
    await repository.reserve('2026-06-07', 'USD', 0.4, 1, NOW);
    await Promise.all([
      repository.release('2026-06-06', 0.1),
      repository.release('2026-06-06', 0.1),
    ]);
    expect(await repository.spent('2026-06-06')).toBe(0.2);
    expect(await repository.spent('2026-06-07')).toBe(0.4);

    await repository.release('2026-06-06', 5);
    expect(await repository.spent('2026-06-06')).toBe(0);
    expect(await repository.reserve('2026-06-06', 'USD', 1, 1, NOW)).toBe(true);
    await repository.release('2026-06-08', 1);
    expect(await repository.spent('2026-06-08')).toBe(0);
  });
});
