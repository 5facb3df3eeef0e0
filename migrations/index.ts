import { CreateSmsVerifications1764072000000 } from './1764072000000-create-sms-verifications';
import { CreateSmsRateLimits1764072100000 } from './1764072100000-create-sms-rate-limits';
import { CreatePumpingHoldsAndSpend1764072200000 } from './1764072200000-create-pumping-holds-and-spend';

/**
 * Every migration, oldest first. A new migration file is added here too: the list is explicit so
 * the compiled app, the CLI and the tests run exactly the same set.
 */
export const ALL_MIGRATIONS: Function[] = [
  CreateSmsVerifications1764072000000,
  CreateSmsRateLimits1764072100000,
  CreatePumpingHoldsAndSpend1764072200000,
];
