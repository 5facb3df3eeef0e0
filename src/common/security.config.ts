import { SecurityEnvironment } from './security.environment';

export interface SecurityConfig {
  /** Key for every HMAC of phone numbers, IPs, codes and tokens. */
  hashSecret: string;
  /** False when the development fallback is in use (refused in production). */
  hashSecretConfigured: boolean;
  /** Bearer key for operator routes; undefined turns those routes off. */
  adminApiKey?: string;
}

const DEVELOPMENT_HASH_SECRET = 'development-only-hash-secret-do-not-use-in-production';

export function securityConfigFromEnvironment(environment: SecurityEnvironment): SecurityConfig {
  return {
    hashSecret: environment.HASH_SECRET ?? DEVELOPMENT_HASH_SECRET,
    hashSecretConfigured: environment.HASH_SECRET !== undefined,
    adminApiKey: environment.ADMIN_API_KEY,
  };
}
