import { ConfigurationError } from '../../src/config/configuration-error';
import { loadConfiguration } from '../../src/config/load-configuration';

type RawEnvironment = Record<string, string | undefined>;

/** Values shaped like real ones; none of them matches the placeholder patterns. */
export const PRODUCTION: RawEnvironment = {
  NODE_ENV: 'production',
  HASH_SECRET: '9f2c4e7a1b3d5f608192a3b4c5d6e7f80912a3b4c5d6e7f8091a2b3c4d5e6f70',
  JWT_SECRET: '4d7e0a3b6c9f2e5a8b1d4c7f0a3e6b9d2c5f8a1e4b7d0c3f6a9e2b5d8c1f4a7e',
  TWILIO_ACCOUNT_SID: 'AC3f6d2a9b8c7e5f4a1b0c9d8e7f6a5b4c',
  TWILIO_AUTH_TOKEN: '5b2e8f1c4a7d0e3b6c9f2a5d8e1b4c7f',
  TWILIO_VERIFY_SERVICE_SID: 'VA7c1e4b8d2f6a0c3e9b5d1f7a4c8e2b6d',
  DATABASE_URL: 'postgres://sms:k8Jq2mXw9Rt4@db.internal:5432/sms',
};

/** The ConfigurationError loadConfiguration throws for `raw`; fails the test when it throws none. */
export function configurationErrorFor(raw: RawEnvironment): ConfigurationError {
  try {
    loadConfiguration(raw);
  } catch (error) {
    if (error instanceof ConfigurationError) return error;
    throw error;
  }
  throw new Error(`expected a ConfigurationError for ${JSON.stringify(raw)}`);
}

/** The problems that start with the variable's name, the way an operator scans the message. */
export function problemsAbout(error: ConfigurationError, variable: string): string[] {
  return error.problems.filter((problem) => new RegExp(`^${variable}\\b`).test(problem));
}
