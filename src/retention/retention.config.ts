import { RetentionEnvironment } from './retention.environment';

export interface RetentionConfig {
  /** Ended verifications, expired or revoked refresh tokens and ended pumping holds. */
  verificationRetentionDays: number;
  /** Analytics events, their hourly rollups and delivery records (sms_messages). */
  analyticsRetentionDays: number;
  intervalMs: number;
  /** Rows deleted per statement; each statement is its own short transaction. */
  batchSize: number;
}

export function retentionConfigFromEnvironment(environment: RetentionEnvironment): RetentionConfig {
  return {
    verificationRetentionDays: environment.SMS_VERIFICATION_RETENTION_DAYS,
    analyticsRetentionDays: environment.ANALYTICS_RETENTION_DAYS,
    intervalMs: environment.RETENTION_INTERVAL_MS,
    batchSize: environment.RETENTION_BATCH_SIZE,
  };
}
