import { Injectable, Logger } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { Clock } from '../../../common/clock';
import { SmsEvents } from '../../../common/events/sms-events';
import { Configuration } from '../../../config/configuration';
import { BudgetConfig } from '../abuse.config';
import { SmsBudgetExhaustedError } from './budget.errors';
import { DailySpendRepository } from './daily-spend.repository';

export interface SpendReservation {
  day: string;
  amount: number;
}

/**
 * SMS_DAILY_BUDGET: each send reserves its estimated price (per-country table × segments) in one
 * conditional UPDATE, so concurrent sends on any instance cannot overshoot; a failed send gives
 * its reservation back.
 */
@Injectable()
export class SpendBudgetService {
  private readonly logger = new Logger('SpendBudget');
  private readonly config: BudgetConfig;
  private exhaustedDay?: string;

  constructor(
    private readonly spend: DailySpendRepository,
    private readonly clock: Clock,
    private readonly events: SmsEvents,
    config: ConfigService<Configuration, true>,
  ) {
    this.config = config.get('budget', { infer: true });
  }

  get currency(): string {
    return this.config.currency;
  }

  priceOf(country: string, segments = 1): number {
    return (this.config.prices.get(country) ?? this.config.defaultPrice) * segments;
  }

  async reserve(country: string, segments = 1): Promise<SpendReservation | undefined> {
    if (this.config.dailyBudget <= 0) return undefined;
    const now = this.clock.now();
    const day = now.toISOString().slice(0, 10);
    const amount = this.priceOf(country, segments);
    const reserved = await this.spend.reserve(
      day,
      this.config.currency,
      amount,
      this.config.dailyBudget,
      now,
    );
    if (reserved) return { day, amount };

    throw this.exhausted(day, now, country);
  }

  /** Whether a send of this price would fit today, reserving nothing (for suppressed sends). */
  async assertAvailable(country: string, segments = 1): Promise<void> {
    if (this.config.dailyBudget <= 0) return;
    const now = this.clock.now();
    const day = now.toISOString().slice(0, 10);
    const spent = await this.spend.spent(day);
    if (spent + this.priceOf(country, segments) > this.config.dailyBudget) {
      throw this.exhausted(day, now, country);
    }
  }

  private exhausted(day: string, now: Date, country: string): SmsBudgetExhaustedError {
    if (this.exhaustedDay !== day) {
      this.exhaustedDay = day;
      this.logger.error(
        { day, budget: this.config.dailyBudget, currency: this.config.currency },
        'Daily SMS budget reached: sends stop until tomorrow (UTC) or a higher SMS_DAILY_BUDGET',
      );
    }
    this.events.publish({
      status: 'held',
      occurredAt: now,
      country,
      layer: 'budget',
      errorCode: 'SMS_BUDGET_EXHAUSTED',
    });
    const midnight = Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate() + 1);
    return new SmsBudgetExhaustedError(Math.max(1, Math.ceil((midnight - now.getTime()) / 1000)));
  }

  async release(reservation: SpendReservation | undefined): Promise<void> {
    if (!reservation) return;
    await this.spend.release(reservation.day, reservation.amount);
  }
}
