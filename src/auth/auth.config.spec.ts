import { ConfigurationError } from '../config/configuration-error';
import { loadConfiguration } from '../config/load-configuration';
import { PRODUCTION } from '../../test/support/configuration';

function problemsOf(raw: Record<string, string | undefined>): string[] {
  try {
    loadConfiguration(raw);
  } catch (error) {
    if (error instanceof ConfigurationError) return error.problems;
    throw error;
  }
  return [];
}

describe('auth configuration', () => {
  it('has short access tokens, long refresh tokens and a development key by default', () => {
    const { auth } = loadConfiguration({});
    expect(auth).toEqual({
      jwt: {
        secret: expect.stringMatching(/^development-only/),
        secretConfigured: false,
        issuer: 'sms-verification-service',
        audience: 'sms-verification-api',
        accessTtlSeconds: 900,
        twoFactorTtlSeconds: 300,
      },
      refreshTtlSeconds: 2_592_000,
      passwordAttempts: { limit: 10, ceiling: 100, ipLimit: 100, windowMs: 3_600_000 },
    });
  });

  it('reads every variable', () => {
    const { auth } = loadConfiguration({
      JWT_SECRET: 'a-jwt-secret-for-this-test-0123456789abcdef',
      JWT_ACCESS_TTL_SECONDS: '300',
      JWT_REFRESH_TTL_SECONDS: '86400',
      JWT_TWO_FACTOR_TTL_SECONDS: '120',
      AUTH_PASSWORD_ATTEMPTS_LIMIT: '5',
      AUTH_PASSWORD_ATTEMPTS_WINDOW: '600000',
    });
    expect(auth.jwt).toMatchObject({
      secret: 'a-jwt-secret-for-this-test-0123456789abcdef',
      secretConfigured: true,
      accessTtlSeconds: 300,
      twoFactorTtlSeconds: 120,
    });
    expect(auth.refreshTtlSeconds).toBe(86_400);
    expect(auth.passwordAttempts).toEqual({
      limit: 5,
      ceiling: 50,
      ipLimit: 100,
      windowMs: 600_000,
    });
  });

  it('puts the per-phone password ceiling at ten times the per-client limit unless set', () => {
    expect(
      loadConfiguration({ AUTH_PASSWORD_ATTEMPTS_LIMIT: '3', AUTH_PASSWORD_ATTEMPTS_CEILING: '7' })
        .auth.passwordAttempts,
    ).toMatchObject({ limit: 3, ceiling: 7 });
    // Below the per-client limit, one client could lock every other out again.
    expect(
      problemsOf({ AUTH_PASSWORD_ATTEMPTS_LIMIT: '10', AUTH_PASSWORD_ATTEMPTS_CEILING: '9' }),
    ).toEqual([expect.stringMatching(/^AUTH_PASSWORD_ATTEMPTS_CEILING: must be at least/)]);
    expect(problemsOf({ AUTH_PASSWORD_ATTEMPTS_CEILING: '0' })).toEqual([
      expect.stringMatching(/^AUTH_PASSWORD_ATTEMPTS_CEILING/),
    ]);
  });

  it('refuses a short JWT_SECRET without printing it', () => {
    const problems = problemsOf({ JWT_SECRET: 'short-jwt-7f3a' });
    expect(problems).toEqual([expect.stringMatching(/^JWT_SECRET/)]);
    expect(problems.join('\n')).not.toContain('7f3a');
  });

  it('refuses access tokens that outlive refresh tokens, and a key shared with HASH_SECRET', () => {
    expect(problemsOf({ JWT_ACCESS_TTL_SECONDS: '7200', JWT_REFRESH_TTL_SECONDS: '3600' })).toEqual(
      [expect.stringMatching(/^JWT_ACCESS_TTL_SECONDS/)],
    );
    const shared = 'one-secret-for-two-purposes-0123456789abcdef';
    expect(problemsOf({ HASH_SECRET: shared, JWT_SECRET: shared })).toEqual([
      expect.stringMatching(/^JWT_SECRET: must differ from HASH_SECRET/),
    ]);
  });

  it('requires a real JWT_SECRET in production', () => {
    expect(problemsOf(PRODUCTION)).toEqual([]);
    expect(problemsOf({ ...PRODUCTION, JWT_SECRET: '' })).toEqual([
      'JWT_SECRET: required in production (32+ random characters)',
    ]);
    for (const placeholder of [
      'change-me-to-a-third-64-random-hex-characters',
      'development-only-jwt-secret-do-not-use-in-production',
    ]) {
      expect(problemsOf({ ...PRODUCTION, JWT_SECRET: placeholder })).toEqual([
        'JWT_SECRET: still a placeholder value; generate a random secret',
      ]);
    }
  });
});
