import { Configuration } from './configuration';

/** Values that mean "nobody set this": copied from .env.example or left as a development default. */
export function isPlaceholder(value: string | undefined): boolean {
  if (!value) return false;
  return /change[-_ ]?me|placeholder|your[-_]|example|development-only|^x+$/i.test(value);
}

/** In production the service refuses to start without real secrets and a real SMS provider. */
export function productionProblems(configuration: Configuration): string[] {
  if (!configuration.app.isProduction) return [];
  const { security, twilio, sms, database, auth } = configuration;
  const problems: string[] = [];
  if (!security.hashSecretConfigured) {
    problems.push('HASH_SECRET: required in production (32+ random characters)');
  } else if (isPlaceholder(security.hashSecret)) {
    problems.push('HASH_SECRET: still a placeholder value; generate a random secret');
  }
  if (!auth.jwt.secretConfigured) {
    problems.push('JWT_SECRET: required in production (32+ random characters)');
  } else if (isPlaceholder(auth.jwt.secret)) {
    problems.push('JWT_SECRET: still a placeholder value; generate a random secret');
  }
  if (isPlaceholder(security.adminApiKey)) {
    problems.push('ADMIN_API_KEY: still a placeholder value; generate a random key or unset it');
  }
  if (!twilio.accountSid) problems.push('TWILIO_ACCOUNT_SID: required in production');
  if (!twilio.authToken) problems.push('TWILIO_AUTH_TOKEN: required in production');
  else if (isPlaceholder(twilio.authToken)) {
    problems.push('TWILIO_AUTH_TOKEN: still a placeholder value');
  }
  if (sms.provider === 'console') {
    problems.push(
      'SMS_PROVIDER: the console provider logs codes and is refused in production; configure ' +
        'TWILIO_VERIFY_SERVICE_SID, or TWILIO_MESSAGING_SERVICE_SID / TWILIO_FROM',
    );
  }
  if (twilio.apiBaseUrl) {
    problems.push('TWILIO_API_BASE_URL: only for tests and local fakes; refused in production');
  }
  if (!database.url) {
    problems.push(
      'DATABASE_URL: required in production (the embedded database is for development)',
    );
  }
  return problems;
}
