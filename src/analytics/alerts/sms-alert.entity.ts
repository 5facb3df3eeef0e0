import { Column, Entity, Index, PrimaryGeneratedColumn } from 'typeorm';

/**
 * One alert of docs/PRODUCT.md#alerts, from the evaluation that saw its rule above the threshold to
 * the one that saw it back under. At most one alert per rule and subject is open, so a new alert is
 * announced once.
 */
@Entity('sms_alerts')
@Index('uq_sms_alerts_open', ['rule', 'subject'], { unique: true, where: `"resolved_at" IS NULL` })
@Index('idx_sms_alerts_started', ['startedAt'])
export class SmsAlert {
  @PrimaryGeneratedColumn('uuid')
  id: string;

  /** failure_rate | response_time | rate_limit_violations | daily_cost | webhook_failures | pumping_hold */
  @Column({ type: 'varchar', length: 32 })
  rule: string;

  /** What the rule watched, when it watches several things (pumping_hold: the hold's id); '' else. */
  @Column({ type: 'varchar', length: 64, default: '' })
  subject: string;

  /** The latest value measured while the alert was open. */
  @Column({ type: 'double precision' })
  value: number;

  @Column({ type: 'double precision' })
  threshold: number;

  @Column({ type: 'text' })
  message: string;

  @Column({ name: 'started_at', type: 'timestamptz' })
  startedAt: Date;

  /** The latest evaluation that saw the rule above its threshold. */
  @Column({ name: 'updated_at', type: 'timestamptz' })
  updatedAt: Date;

  @Column({ name: 'resolved_at', type: 'timestamptz', nullable: true })
  resolvedAt: Date | null;

  /** When ALERT_WEBHOOK_URL accepted the alert; null: not (yet) delivered. */
  @Column({ name: 'notified_at', type: 'timestamptz', nullable: true })
  notifiedAt: Date | null;
}
