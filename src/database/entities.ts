import { DailySpend } from '../rate-limit/budget/daily-spend.entity';
import { SmsHold } from '../rate-limit/pumping/sms-hold.entity';
import { RateLimitRecord } from '../rate-limit/store/rate-limit-record.entity';
import { Verification } from '../sms/verification.entity';

/** Every TypeORM entity of the product; the migration check compares them with migrations/. */
export const ALL_ENTITIES: Function[] = [Verification, RateLimitRecord, SmsHold, DailySpend];
