import { Injectable, Logger } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { Clock } from '../../../common/clock';
import { SmsEvents } from '../../../common/events/sms-events';
import { Configuration } from '../../../config/configuration';
import { Sql } from '../../../database/sql';
import { BudgetConfig } from '../abuse.config';
import { SmsBudgetExhaustedError } from './budget.errors';

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
    private readonly sql: Sql,
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
    await this.sql.rows(
      `INSERT INTO sms_daily_spend (day, currency, amount, updated_at) VALUES ($1, $2, 0, $3)
       ON CONFLICT (day) DO NOTHING`,
      [day, this.config.currency, now],
    );
    const reserved = await this.sql.rows(
      `UPDATE sms_daily_spend SET amount = amount + $2, updated_at = $4
        WHERE day = $1 AND amount + $2 <= $3 RETURNING amount`,
      [day, amount, this.config.dailyBudget, now],
    );
    if (reserved.length === 1) return { day, amount };

    throw this.exhausted(day, now, country);
  }

  /** Whether a send of this price would fit today, reserving nothing (for suppressed sends). */
  async assertAvailable(country: string, segments = 1): Promise<void> {
    if (this.config.dailyBudget <= 0) return;
    const now = this.clock.now();
    const day = now.toISOString().slice(0, 10);
    const [spent] = await this.sql.rows<{ amount: string }>(
      `SELECT amount FROM sms_daily_spend WHERE day = $1`,
      [day],
    );
    if (Number(spent?.amount ?? 0) + this.priceOf(country, segments) > this.config.dailyBudget) {
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
    await this.sql.rows(
      `UPDATE sms_daily_spend SET amount = GREATEST(amount - $2, 0) WHERE day = $1`,
      [reservation.day, reservation.amount],
    );
  }
}
