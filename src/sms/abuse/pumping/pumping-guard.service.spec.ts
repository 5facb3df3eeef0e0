import { ConfigService } from '@nestjs/config';
import { Clock } from '../../../common/clock';
import { Configuration } from '../../../config/configuration';
import { loadConfiguration } from '../../../config/load-configuration';
import { PumpingGuardService, SendDestination } from './pumping-guard.service';
import {
  ActiveHold,
  HoldStatistics,
  NewHold,
  SmsHoldRepository,
  StartedHold,
} from './sms-hold.repository';

class StillClock extends Clock {
  now(): Date {
    return new Date('2026-11-24T10:00:00Z');
  }
}

/** sms_holds and the statistics in memory: what the guard reads and writes, nothing more. */
class FakeHolds {
  holds: ActiveHold[] = [];
  ranges = new Map<string, HoldStatistics>();
  /** Statistics by country as the database answers them now (held ranges already left out). */
  countries = new Map<string, HoldStatistics>();
  countryQueries = 0;

  async active(): Promise<ActiveHold[]> {
    return [...this.holds];
  }

  async start(hold: NewHold): Promise<StartedHold | undefined> {
    if (this.holds.some((held) => held.scope === hold.scope && held.scopeKey === hold.scopeKey)) {
      return undefined;
    }
    const started: StartedHold = {
      id: `hold-${this.holds.length + 1}`,
      scope: hold.scope,
      scopeKey: hold.scopeKey,
      label: hold.label,
      mode: hold.mode,
      ...hold.statistics,
      createdAt: hold.now,
      expiresAt: hold.expiresAt,
    };
    this.holds.push(started);
    return started;
  }

  async rangeStatistics(keys: string[]): Promise<Map<string, HoldStatistics>> {
    return new Map(
      keys.flatMap((key) => (this.ranges.has(key) ? [[key, this.ranges.get(key)!]] : [])),
    );
  }

  async countryStatistics(
    keys: string[],
    ..._rest: unknown[]
  ): Promise<Map<string, HoldStatistics>> {
    this.countryQueries += 1;
    return new Map(
      keys.flatMap((key) => (this.countries.has(key) ? [[key, this.countries.get(key)!]] : [])),
    );
  }
}

function guardWith(environment: Record<string, string> = {}) {
  const configuration = loadConfiguration({
    SMS_PUMPING_MIN_SENDS: '10',
    SMS_PUMPING_MIN_CONVERSION: '0.2',
    SMS_PUMPING_COUNTRY_MIN_RANGES: '5',
    SMS_PUMPING_COUNTRY_MIN_NETWORKS: '5',
    ...environment,
  });
  const config = { get: (key: keyof Configuration) => configuration[key] };
  const holds = new FakeHolds();
  const guard = new PumpingGuardService(
    holds as unknown as SmsHoldRepository,
    new StillClock(),
    config as unknown as ConfigService<Configuration, true>,
  );
  const started: string[] = [];
  guard.onHoldStarted((hold) => started.push(`${hold.scope} ${hold.label} ${hold.mode}`));
  return { guard, holds, started };
}

const destination: SendDestination = {
  country: 'ET',
  prefixHash: 'range-a',
  prefixLabel: '+25191123····',
};
const quiet: HoldStatistics = { sends: 3, verified: 1, ranges: 2, networks: 2 };

describe('PumpingGuardService', () => {
  it('holds a range whose codes are rarely verified, and only that range', async () => {
    const { guard, holds, started } = guardWith();
    holds.ranges.set('range-a', { sends: 10, verified: 1, ranges: null, networks: null });
    holds.countries.set('ET', quiet);

    await expect(guard.holdOn(destination)).resolves.toMatchObject({
      scope: 'prefix',
      mode: 'enforced',
    });
    await expect(
      guard.holdOn({ ...destination, prefixHash: 'range-b', prefixLabel: '+25191124····' }),
    ).resolves.toBeUndefined();
    expect(started).toEqual(['prefix +25191123···· enforced']);
  });

  it('does not hold a range below SMS_PUMPING_MIN_SENDS or at the minimum conversion', async () => {
    const { guard, holds, started } = guardWith();
    holds.countries.set('ET', quiet);
    holds.ranges.set('range-a', { sends: 9, verified: 0, ranges: null, networks: null });
    await expect(guard.holdOn(destination)).resolves.toBeUndefined();
    guard.invalidate();
    holds.ranges.set('range-a', { sends: 10, verified: 2, ranges: null, networks: null });
    await expect(guard.holdOn(destination)).resolves.toBeUndefined();
    expect(started).toEqual([]);
  });

  it.each([
    [{ sends: 40, verified: 2, ranges: 5, networks: 5 }, true],
    [{ sends: 40, verified: 2, ranges: 4, networks: 30 }, false],
    [{ sends: 40, verified: 2, ranges: 30, networks: 4 }, false],
    [{ sends: 40, verified: 8, ranges: 30, networks: 30 }, false],
    [{ sends: 9, verified: 0, ranges: 9, networks: 9 }, false],
  ])('holds a country for %j: %s', async (statistics, held) => {
    const { guard, holds, started } = guardWith();
    holds.countries.set('ET', statistics);
    await guard.holdOn(destination);
    expect(started).toEqual(held ? ['country ET enforced'] : []);
  });

  it('answers the range hold before the country hold, and nothing for shadow holds', async () => {
    const enforced = guardWith();
    enforced.holds.ranges.set('range-a', { sends: 10, verified: 0, ranges: null, networks: null });
    enforced.holds.countries.set('ET', { sends: 40, verified: 0, ranges: 9, networks: 9 });
    await expect(enforced.guard.holdOn(destination)).resolves.toMatchObject({ scope: 'prefix' });
    expect(enforced.started).toEqual(['prefix +25191123···· enforced', 'country ET enforced']);

    const shadow = guardWith({ SMS_PUMPING_MODE: 'shadow' });
    shadow.holds.ranges.set('range-a', { sends: 10, verified: 0, ranges: null, networks: null });
    await expect(shadow.guard.holdOn(destination)).resolves.toBeUndefined();
    expect(shadow.started).toEqual(['prefix +25191123···· shadow']);
  });

  it('reads nothing and holds nothing with SMS_PUMPING_MODE=off', async () => {
    const { guard, holds, started } = guardWith({ SMS_PUMPING_MODE: 'off' });
    holds.ranges.set('range-a', { sends: 100, verified: 0, ranges: null, networks: null });
    await expect(guard.holdOn(destination)).resolves.toBeUndefined();
    expect(guard.enabled).toBe(false);
    expect(holds.countryQueries).toBe(0);
    expect(started).toEqual([]);
  });
});
