import { randomBytes } from 'node:crypto';
import { HoldMode, HoldScope } from '../../src/sms/abuse/pumping/sms-hold.entity';
import { SmsHoldRepository } from '../../src/sms/abuse/pumping/sms-hold.repository';
import { RepositoryDatabase, openRepositoryDatabase } from '../support/repository-database';

/**
 * The SQL of the holds the country report reads, against a migrated PostgreSQL: which countries
 * are held, and how, at a given time.
 */
describe('SmsHoldRepository', () => {
  let database: RepositoryDatabase;
  let repository: SmsHoldRepository;
  const NOW = new Date('2026-06-01T12:00:00.000Z');
  const later = (seconds: number) => new Date(NOW.getTime() + seconds * 1000);

  beforeAll(async () => {
    database = await openRepositoryDatabase();
    repository = new SmsHoldRepository(database.sql);
  });

  afterAll(() => database.close());

  function hold(scope: HoldScope, scopeKey: string, mode: HoldMode, now: Date, expiresAt: Date) {
    return repository.start({
      scope,
      scopeKey,
      label: scopeKey.slice(0, 8),
      mode,
      statistics: { sends: 100, verified: 1, ranges: null, networks: null },
      now,
      expiresAt,
    });
  }

  it('answers the mode of each country held at a time: not lifted, not expired, not a range', async () => {
    await hold('country', 'ET', 'enforced', NOW, later(3_600));
    await hold('country', 'KE', 'shadow', NOW, later(3_600));
    await hold('country', 'NG', 'enforced', NOW, later(60));
    const lifted = await hold('country', 'GH', 'enforced', NOW, later(3_600));
    await repository.lift(lifted!.id, later(1));
    await hold('prefix', randomBytes(32).toString('hex'), 'enforced', NOW, later(3_600));

    expect(await repository.countryHoldModes(later(60))).toEqual(
      new Map([
        ['ET', 'enforced'],
        ['KE', 'shadow'],
      ]),
    );
    expect((await repository.countryHoldModes(later(59))).get('NG')).toBe('enforced');

    // An expired hold renewed in another mode answers its new mode.
    await hold('country', 'NG', 'shadow', later(120), later(3_600));
    expect((await repository.countryHoldModes(later(121))).get('NG')).toBe('shadow');
    expect(await repository.countryHoldModes(later(3_600))).toEqual(new Map());
  });
});
