import { Column, Entity, PrimaryColumn } from 'typeorm';

/**
 * Response times of every request to the SMS and auth routes, whatever the answer, per minute
 * and route template, from every instance: what the response-time alert judges. Minute rows are
 * kept for REQUEST_TIMINGS_RETENTION_DAYS (retention.service.ts); the alert reads the last hour.
 */
@Entity('sms_request_timings')
export class SmsRequestTiming {
  @PrimaryColumn({ type: 'timestamptz' })
  minute: Date;

  /** The route template, e.g. `/sms/verify-code`. */
  @PrimaryColumn({ type: 'varchar', length: 64 })
  route: string;

  @Column({ type: 'integer', default: 0 })
  requests: number;

  @Column({ name: 'response_ms_sum', type: 'bigint', default: 0 })
  responseMsSum: string;

  /** Response times by bucket of RESPONSE_TIME_BOUNDS_MS (response-time-histogram.ts). */
  @Column({ name: 'rt_histogram', type: 'integer', array: true, default: () => `'{}'` })
  rtHistogram: number[];
}
