import { Column, Entity, PrimaryColumn } from 'typeorm';

/** Estimated SMS spend per UTC day, reserved before each send (SMS_DAILY_BUDGET). */
@Entity('sms_daily_spend')
export class DailySpend {
  @PrimaryColumn({ type: 'date' })
  day: string;

  @Column({ type: 'varchar', length: 3 })
  currency: string;

  @Column({ type: 'numeric', precision: 14, scale: 6, default: 0 })
  amount: string;

  @Column({ name: 'updated_at', type: 'timestamptz' })
  updatedAt: Date;
}
