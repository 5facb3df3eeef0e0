import { Injectable } from '@nestjs/common';
import { Sql } from '../../../database/sql';

/**
 * The day's SMS spend (`sms_daily_spend`, one row per UTC day). A reservation is one conditional
 * UPDATE, so concurrent sends on any instance cannot take the day past its budget.
 */
@Injectable()
export class DailySpendRepository {
  constructor(private readonly sql: Sql) {}

  /**
   * Adds `amount` to the day's spend if the total stays within `budget`: true when it was
   * reserved, false (nothing added) when it would not fit. The day's row is created at 0 first.
   */
  async reserve(
    day: string,
    currency: string,
    amount: number,
    budget: number,
    now: Date,
  ): Promise<boolean> {
    await this.sql.rows(
      `INSERT INTO sms_daily_spend (day, currency, amount, updated_at) VALUES ($1, $2, 0, $3)
       ON CONFLICT (day) DO NOTHING`,
      [day, currency, now],
    );
    const reserved = await this.sql.rows(
      `UPDATE sms_daily_spend SET amount = amount + $2, updated_at = $4
        WHERE day = $1 AND amount + $2 <= $3 RETURNING amount`,
      [day, amount, budget, now],
    );
    return reserved.length === 1;
  }

  /** What the day has spent so far (0 before its first send). */
  async spent(day: string): Promise<number> {
    const [spent] = await this.sql.rows<{ amount: string }>(
      `SELECT amount FROM sms_daily_spend WHERE day = $1`,
      [day],
    );
    return Number(spent?.amount ?? 0);
  }

  /** Gives a reservation back; the day's spend never goes below 0. */
  async release(day: string, amount: number): Promise<void> {
    await this.sql.rows(
      `UPDATE sms_daily_spend SET amount = GREATEST(amount - $2, 0) WHERE day = $1`,
      [day, amount],
    );
  }
}
