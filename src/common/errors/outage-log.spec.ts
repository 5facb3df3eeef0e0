import { Clock } from '../clock';
import { OUTAGE_LOG_INTERVAL_MS, OutageLog } from './outage-log';

class StillClock extends Clock {
  current = Date.parse('2026-03-02T09:00:00Z');

  now(): Date {
    return new Date(this.current);
  }
}

describe('OutageLog', () => {
  it('logs the first occurrence of a cause, then one per interval with the count in between', () => {
    const clock = new StillClock();
    const outages = new OutageLog(clock);

    expect(outages.record('redis offline')).toEqual({ log: true, first: true, unlogged: 0 });
    expect(outages.record('redis offline')).toEqual({ log: false, first: false, unlogged: 1 });
    expect(outages.record('redis offline')).toEqual({ log: false, first: false, unlogged: 2 });
    // Another cause is news of its own.
    expect(outages.record('ECONNREFUSED')).toEqual({ log: true, first: true, unlogged: 0 });

    clock.current += OUTAGE_LOG_INTERVAL_MS - 1;
    expect(outages.record('redis offline').log).toBe(false);
    clock.current += 1;
    expect(outages.record('redis offline')).toEqual({ log: true, first: false, unlogged: 3 });
    expect(outages.record('redis offline')).toEqual({ log: false, first: false, unlogged: 1 });
  });

  it('ends every outage under way once, and starts afresh after', () => {
    const clock = new StillClock();
    const outages = new OutageLog(clock);
    expect(outages.end()).toEqual([]);

    const startedAt = clock.now();
    for (let occurrence = 0; occurrence < 4; occurrence += 1) outages.record('redis offline');
    clock.current += 5_000;
    outages.record('ECONNREFUSED');

    expect(outages.end()).toEqual([
      { cause: 'redis offline', startedAt, occurrences: 4 },
      { cause: 'ECONNREFUSED', startedAt: clock.now(), occurrences: 1 },
    ]);
    expect(outages.end()).toEqual([]);
    expect(outages.record('redis offline')).toEqual({ log: true, first: true, unlogged: 0 });
  });
});
