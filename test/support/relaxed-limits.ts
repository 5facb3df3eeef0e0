/**
 * Limits high enough not to interfere, for suites that test something other than rate limiting
 * (the rate-limit suites set the layers they test explicitly).
 */
export const RELAXED_LIMITS: Record<string, string> = {
  SMS_RATE_LIMIT_MAX_ATTEMPTS: '10000',
  SMS_RATE_LIMIT_GLOBAL_MAX: '1000000',
  SMS_PURPOSE_LIMITS: 'registration:10000,login:10000,password_reset:10000,two_factor:10000',
  SMS_IP_LIMIT: '100000',
  SMS_IP_DISTINCT_PHONES: '100000',
  SMS_COUNTRY_LIMITS: 'ET:1000000,US:1000000',
  SMS_COUNTRY_LIMIT_DEFAULT: '1000000',
  SMS_PREFIX_LIMIT: '100000',
  SMS_RESEND_COOLDOWNS: '0',
  SMS_VERIFY_PHONE_LIMIT: '100000',
  SMS_VERIFY_IP_LIMIT: '100000',
  HTTP_THROTTLE_LIMIT: '1000000',
};
