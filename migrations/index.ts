import { CreateSmsVerifications1764072000000 } from './1764072000000-create-sms-verifications';

/**
 * Every migration, oldest first. A new migration file is added here too: the list is explicit so
 * the compiled app, the CLI and the tests run exactly the same set.
 */
export const ALL_MIGRATIONS: Function[] = [CreateSmsVerifications1764072000000];
