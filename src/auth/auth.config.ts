import type { SecurityEnvironment } from '../common/security.environment';
import { AuthEnvironment } from './auth.environment';
import type { PasswordLimits } from '../sms/abuse/policies';
import { PHONE_CEILING_FACTOR } from '../sms/abuse/abuse.config';

export interface JwtConfig {
  /** HS256 key of access and two-factor tokens. */
  secret: string;
  /** False when the development fallback is in use (refused in production). */
  secretConfigured: boolean;
  issuer: string;
  audience: string;
  accessTtlSeconds: number;
  twoFactorTtlSeconds: number;
}

export interface AuthConfig {
  jwt: JwtConfig;
  refreshTtlSeconds: number;
  /** Password attempts allowed per phone and client, per phone, and per client IP per window. */
  passwordAttempts: PasswordLimits;
}

const DEVELOPMENT_JWT_SECRET = 'development-only-jwt-secret-do-not-use-in-production';

/** Who signs and who may accept the tokens; one service and its SPA, so fixed names. */
export const JWT_ISSUER = 'sms-verification-service';
export const JWT_AUDIENCE = 'sms-verification-api';

export function authConfigFromEnvironment(
  environment: AuthEnvironment & Pick<SecurityEnvironment, 'HASH_SECRET'>,
  problems: string[],
): AuthConfig {
  if (environment.JWT_ACCESS_TTL_SECONDS >= environment.JWT_REFRESH_TTL_SECONDS) {
    problems.push('JWT_ACCESS_TTL_SECONDS: must be shorter than JWT_REFRESH_TTL_SECONDS');
  }
  if (environment.JWT_SECRET !== undefined && environment.JWT_SECRET === environment.HASH_SECRET) {
    problems.push('JWT_SECRET: must differ from HASH_SECRET (one key, one purpose)');
  }
  const passwordCeiling =
    environment.AUTH_PASSWORD_ATTEMPTS_CEILING ??
    PHONE_CEILING_FACTOR * environment.AUTH_PASSWORD_ATTEMPTS_LIMIT;
  if (passwordCeiling < environment.AUTH_PASSWORD_ATTEMPTS_LIMIT) {
    // Below the per-client limit, one client could again lock every client out of the account.
    problems.push('AUTH_PASSWORD_ATTEMPTS_CEILING: must be at least AUTH_PASSWORD_ATTEMPTS_LIMIT');
  }
  return {
    jwt: {
      secret: environment.JWT_SECRET ?? DEVELOPMENT_JWT_SECRET,
      secretConfigured: environment.JWT_SECRET !== undefined,
      issuer: JWT_ISSUER,
      audience: JWT_AUDIENCE,
      accessTtlSeconds: environment.JWT_ACCESS_TTL_SECONDS,
      twoFactorTtlSeconds: environment.JWT_TWO_FACTOR_TTL_SECONDS,
    },
    refreshTtlSeconds: environment.JWT_REFRESH_TTL_SECONDS,
    passwordAttempts: {
      limit: environment.AUTH_PASSWORD_ATTEMPTS_LIMIT,
      ceiling: passwordCeiling,
      ipLimit: environment.AUTH_PASSWORD_IP_ATTEMPTS_LIMIT,
      windowMs: environment.AUTH_PASSWORD_ATTEMPTS_WINDOW,
    },
  };
}
