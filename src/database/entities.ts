import { SmsAlert } from '../analytics/alerts/sms-alert.entity';
import { SmsMessage } from '../analytics/delivery/sms-message.entity';
import { SmsSuppression } from '../analytics/delivery/sms-suppression.entity';
import { SmsEventRollup, SmsResponseTimeRollup } from '../analytics/events/sms-event-rollup.entity';
import { SmsEventRecord } from '../analytics/events/sms-event.entity';
import { SmsRequestTiming } from '../analytics/events/sms-request-timing.entity';
import { RefreshToken } from '../auth/refresh-token.entity';
import { User } from '../auth/user.entity';
import { DailySpend } from '../rate-limit/budget/daily-spend.entity';
import { SmsHold } from '../rate-limit/pumping/sms-hold.entity';
import { RateLimitRecord } from '../rate-limit/store/rate-limit-record.entity';
import { Verification } from '../sms/verification.entity';

/** Every TypeORM entity of the product; the migration check compares them with migrations/. */
export const ALL_ENTITIES: Function[] = [
  Verification,
  RateLimitRecord,
  SmsHold,
  DailySpend,
  SmsSuppression,
  SmsEventRecord,
  SmsEventRollup,
  SmsResponseTimeRollup,
  SmsRequestTiming,
  SmsMessage,
  User,
  RefreshToken,
  SmsAlert,
];
