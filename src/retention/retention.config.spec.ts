import { ConfigurationError } from '../config/configuration-error';
import { loadConfiguration } from '../config/load-configuration';

function problemsOf(raw: Record<string, string>): string[] {
  try {
    loadConfiguration(raw);
  } catch (error) {
    if (error instanceof ConfigurationError) return error.problems;
    throw error;
  }
  return [];
}

describe('retention configuration', () => {
  it('keeps verifications 30 days and a year of reports, purging hourly 5000 rows at a time', () => {
    expect(loadConfiguration({}).retention).toEqual({
      verificationRetentionDays: 30,
      analyticsRetentionDays: 395,
      intervalMs: 3_600_000,
      batchSize: 5_000,
    });
  });

  it('reads every variable', () => {
    expect(
      loadConfiguration({
        SMS_VERIFICATION_RETENTION_DAYS: '7',
        ANALYTICS_RETENTION_DAYS: '90',
        RETENTION_INTERVAL_MS: '600000',
        RETENTION_BATCH_SIZE: '2',
      }).retention,
    ).toEqual({
      verificationRetentionDays: 7,
      analyticsRetentionDays: 90,
      intervalMs: 600_000,
      batchSize: 2,
    });
  });

  // At least a day: a verification token outlives its code by up to an hour (expires_at is the
  // code's), and must not be deleted while it can still be used.
  it.each([
    ['SMS_VERIFICATION_RETENTION_DAYS', '0'],
    ['ANALYTICS_RETENTION_DAYS', '0'],
    ['SMS_VERIFICATION_RETENTION_DAYS', '1.5'],
    ['RETENTION_INTERVAL_MS', '999'],
    ['RETENTION_BATCH_SIZE', '0'],
    ['RETENTION_BATCH_SIZE', 'all'],
  ])('refuses %s=%s, naming it', (variable, value) => {
    const problems = problemsOf({ [variable]: value });
    expect(problems).not.toEqual([]);
    expect(problems.filter((problem) => !problem.startsWith(variable))).toEqual([]);
  });
});
