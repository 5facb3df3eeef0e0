import { CreateSmsVerifications1764072000000 } from './1764072000000-create-sms-verifications';
import { CreateSmsRateLimits1764072100000 } from './1764072100000-create-sms-rate-limits';
import { CreatePumpingHoldsAndSpend1764072200000 } from './1764072200000-create-pumping-holds-and-spend';
import { CreateUsersAndRefreshTokens1764072300000 } from './1764072300000-create-users-and-refresh-tokens';
import { CreateSmsSuppressions1764072400000 } from './1764072400000-create-sms-suppressions';
import { CreateSmsAnalytics1764072410000 } from './1764072410000-create-sms-analytics';
import { CreateSmsAlerts1764072500000 } from './1764072500000-create-sms-alerts';
import { AddRetentionIndexes1764072600000 } from './1764072600000-add-retention-indexes';
import { VerificationFillfactor1764072700000 } from './1764072700000-verification-fillfactor';
import { PumpingHoldsByScope1764072840000 } from './1764072840000-pumping-holds-by-scope';
import { AlertSubjects1764072850000 } from './1764072850000-alert-subjects';
import { AnalyticsOutcomes1764072860000 } from './1764072860000-analytics-outcomes';
import { CreateSmsRequestTimings1764072870000 } from './1764072870000-create-sms-request-timings';
import { VerificationProviderSid1796390000000 } from './1796390000000-verification-provider-sid';

/**
 * Every migration, oldest first. A new migration file is added here too: the list is explicit so
 * the compiled app, the CLI and the tests run exactly the same set.
 */
export const ALL_MIGRATIONS: Function[] = [
  CreateSmsVerifications1764072000000,
  CreateSmsRateLimits1764072100000,
  CreatePumpingHoldsAndSpend1764072200000,
  CreateUsersAndRefreshTokens1764072300000,
  CreateSmsSuppressions1764072400000,
  CreateSmsAnalytics1764072410000,
  CreateSmsAlerts1764072500000,
  AddRetentionIndexes1764072600000,
  VerificationFillfactor1764072700000,
  PumpingHoldsByScope1764072840000,
  AlertSubjects1764072850000,
  AnalyticsOutcomes1764072860000,
  CreateSmsRequestTimings1764072870000,
  VerificationProviderSid1796390000000,
];

/** What runs on ANALYTICS_DB_URL when analytics live in a database of their own. */
export const ANALYTICS_MIGRATIONS: Function[] = [
  CreateSmsAnalytics1764072410000,
  AnalyticsOutcomes1764072860000,
  CreateSmsRequestTimings1764072870000,
];
