import { ConfigService } from '@nestjs/config';
import { Clock } from '../../../common/clock';
import { SmsEvent, SmsEvents } from '../../../common/events/sms-events';
import { Configuration } from '../../../config/configuration';
import { loadConfiguration } from '../../../config/load-configuration';
import { SmsBudgetExhaustedError } from './budget.errors';
import { DailySpendRepository } from './daily-spend.repository';
import { SpendBudgetService } from './spend-budget.service';

/**
 * DailySpendRepository in memory: the same answers for the statements the service uses, one at a
 * time (the SQL's behaviour under races is the repository tier's, test/repositories/).
 */
class InMemoryDailySpend {
  /** Spend per UTC day (YYYY-MM-DD). */
  readonly days = new Map<string, number>();
  /** Statements answered so far. */
  calls = 0;

  async reserve(day: string, _currency: string, amount: number, budget: number) {
    this.calls += 1;
    const spent = this.days.get(day) ?? 0;
    this.days.set(day, spent);
    if (spent + amount > budget) return false;
    this.days.set(day, spent + amount);
    return true;
  }

  async spent(day: string): Promise<number> {
    this.calls += 1;
    return this.days.get(day) ?? 0;
  }

  async release(day: string, amount: number): Promise<void> {
    this.calls += 1;
    const spent = this.days.get(day);
    if (spent !== undefined) this.days.set(day, Math.max(spent - amount, 0));
  }

  asRepository(): DailySpendRepository {
    return this as unknown as DailySpendRepository;
  }
}

class ManualClock extends Clock {
  constructor(private current: Date) {
    super();
  }
  now(): Date {
    return this.current;
  }
  set(at: string): void {
    this.current = new Date(at);
  }
}

/** A budget of 1 a day: four Ethiopian segments, two American ones. */
function setUp(dailyBudget = '1') {
  const configuration = loadConfiguration({
    NODE_ENV: 'test',
    SMS_DAILY_BUDGET: dailyBudget,
    SMS_PRICES: 'ET:0.25,US:0.5',
    SMS_PRICE_DEFAULT: '0.75',
  });
  const config = {
    get: (key: keyof Configuration) => configuration[key],
  } as unknown as ConfigService<Configuration, true>;
  const spend = new InMemoryDailySpend();
  const clock = new ManualClock(new Date('2026-06-01T23:59:30Z'));
  const bus = new SmsEvents();
  const events: SmsEvent[] = [];
  bus.subscribe((event) => events.push(event));
  const budget = new SpendBudgetService(spend.asRepository(), clock, bus, config);
  return { budget, spend, clock, events };
}

describe('SpendBudgetService', () => {
  it("reserves each send's price, segments included, until the day's budget is reached", async () => {
    const { budget, spend } = setUp();
    expect(await budget.reserve('ET')).toEqual({ day: '2026-06-01', amount: 0.25 });
    expect(await budget.reserve('US')).toEqual({ day: '2026-06-01', amount: 0.5 });
    expect(await budget.reserve('ET')).toEqual({ day: '2026-06-01', amount: 0.25 });
    expect(spend.days.get('2026-06-01')).toBe(1);
    await expect(budget.reserve('ET')).rejects.toBeInstanceOf(SmsBudgetExhaustedError);
  });

  it('reserves nothing for a send it refuses, and says when sends resume (the next UTC day)', async () => {
    const { budget, spend, events } = setUp();
    await budget.reserve('ET', 3);
    const refused = await budget.reserve('US').catch((error: unknown) => error);
    expect(refused).toBeInstanceOf(SmsBudgetExhaustedError);
    expect((refused as SmsBudgetExhaustedError).retryAfterSeconds).toBe(30);
    expect(spend.days.get('2026-06-01')).toBe(0.75);
    expect(events).toMatchObject([
      { status: 'held', layer: 'budget', country: 'US', errorCode: 'SMS_BUDGET_EXHAUSTED' },
    ]);
    // What still fits goes out: the refusal did not eat into the budget.
    expect(await budget.reserve('ET')).toEqual({ day: '2026-06-01', amount: 0.25 });
  });

  it('gives a failed send its reservation back, so the next send fits', async () => {
    const { budget, spend } = setUp();
    const first = await budget.reserve('US');
    await budget.reserve('US');
    await expect(budget.reserve('ET')).rejects.toBeInstanceOf(SmsBudgetExhaustedError);
    await budget.release(first);
    expect(spend.days.get('2026-06-01')).toBe(0.5);
    expect(await budget.reserve('ET')).toEqual({ day: '2026-06-01', amount: 0.25 });
    await budget.release(undefined);
    expect(spend.days.get('2026-06-01')).toBe(0.75);
  });

  it('starts every UTC day from nothing spent', async () => {
    const { budget, clock } = setUp();
    await budget.reserve('US', 2);
    await expect(budget.reserve('ET')).rejects.toBeInstanceOf(SmsBudgetExhaustedError);
    clock.set('2026-06-02T00:00:00Z');
    expect(await budget.reserve('US', 2)).toEqual({ day: '2026-06-02', amount: 1 });
  });

  it('tells whether a send would fit without reserving it (suppressed sends)', async () => {
    const { budget, spend, events } = setUp();
    await budget.reserve('US');
    await budget.assertAvailable('US');
    await budget.assertAvailable('ET', 2);
    expect(spend.days.get('2026-06-01')).toBe(0.5);
    // Another country's price (the default one) no longer fits.
    await expect(budget.assertAvailable('XX')).rejects.toBeInstanceOf(SmsBudgetExhaustedError);
    expect(events.map((event) => event.layer)).toEqual(['budget']);
  });

  it('counts nothing when there is no daily budget', async () => {
    const { budget, spend } = setUp('0');
    expect(await budget.reserve('US', 100)).toBeUndefined();
    await budget.assertAvailable('US', 100);
    expect(spend.calls).toBe(0);
  });
});
