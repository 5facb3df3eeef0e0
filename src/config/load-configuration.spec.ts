import { resolve } from 'node:path';
import { PRODUCTION, configurationErrorFor, problemsAbout } from '../../test/support/configuration';
import { loadConfiguration } from './load-configuration';

const TWILIO_CREDENTIALS = {
  TWILIO_ACCOUNT_SID: PRODUCTION.TWILIO_ACCOUNT_SID,
  TWILIO_AUTH_TOKEN: PRODUCTION.TWILIO_AUTH_TOKEN,
};

/**
 * The typed sections loadConfiguration builds from a valid environment, and the problems found
 * across variables. What each variable accepts on its own is environment.spec.ts.
 */
describe('loadConfiguration', () => {
  describe('with an empty environment', () => {
    const configuration = loadConfiguration({});

    it('runs in development on port 3000 behind no proxy, with Swagger', () => {
      expect(configuration.app).toMatchObject({
        environment: 'development',
        isProduction: false,
        port: 3000,
        host: '0.0.0.0',
        logLevel: 'info',
        corsOrigins: [],
        trustProxy: false,
        clientIpv6PrefixLength: 64,
        bodyLimitBytes: 16 * 1024,
        swaggerEnabled: true,
        shutdownTimeoutMs: 10_000,
      });
      expect(configuration.app.publicBaseUrl).toBeUndefined();
    });

    it('uses the embedded database in ./data and in-memory stores', () => {
      expect(configuration.database).toMatchObject({
        url: undefined,
        poolSize: 10,
        statementTimeoutMs: 5_000,
        migrationsRun: true,
        dataDir: resolve('data'),
      });
      expect(configuration.redis).toEqual({
        url: undefined,
        clusterNodes: undefined,
        keyPrefix: 'sms:',
      });
    });

    it('falls back to a development hash secret that production would refuse', () => {
      expect(configuration.security.hashSecretConfigured).toBe(false);
      expect(configuration.security.hashSecret.length).toBeGreaterThanOrEqual(32);
      expect(configuration.security.adminApiKey).toBeUndefined();
    });

    it('logs codes through the console provider with the documented SMS defaults', () => {
      expect(configuration.sms).toMatchObject({
        provider: 'console',
        messagingConfigured: false,
        codeLength: 6,
        maxAttempts: 3,
        maxSendsPerVerification: 5,
        expiryMinutes: { registration: 10, login: 5, password_reset: 15, two_factor: 5 },
        verificationTokenTtlSeconds: 600,
        testNumbersIgnored: false,
        defaultLocale: 'en',
      });
      expect(configuration.sms.testNumbers.size).toBe(0);
      expect([...configuration.sms.countryLocales]).toEqual([['ET', 'am']]);
      expect(configuration.twilio).toEqual({
        timeoutMs: 5_000,
        maxSockets: 256,
        circuit: { failures: 5, halfOpenAfterMs: 30_000 },
      });
    });

    it('defaults to Ethiopia among ET, US, GB, CA and AU, without VoIP numbers', () => {
      expect(configuration.phone).toEqual({
        defaultCountry: 'ET',
        supportedCountries: ['ET', 'US', 'GB', 'CA', 'AU'],
        allowVoip: false,
      });
    });
  });

  describe('TRUST_PROXY', () => {
    it.each([
      ['false', false],
      ['FALSE', false],
      ['0', 0],
      ['2', 2],
      [' 2 ', 2],
      ['true', true],
    ])('reads %j as %j', (trustProxy, expected) => {
      expect(loadConfiguration({ TRUST_PROXY: trustProxy }).app.trustProxy).toEqual(expected);
    });

    it('reads a list of addresses and subnets, IPv4 and IPv6, trimming spaces', () => {
      expect(
        loadConfiguration({ TRUST_PROXY: ' 10.0.0.0/8, 192.168.1.10 ,::1, fd00::/8' }).app
          .trustProxy,
      ).toEqual(['10.0.0.0/8', '192.168.1.10', '::1', 'fd00::/8']);
    });
  });

  describe('CLIENT_IPV6_PREFIX', () => {
    it.each([
      ['48', 48],
      ['56', 56],
      [' 128 ', 128],
    ])('reads %j as a /%d client', (prefix, expected) => {
      expect(loadConfiguration({ CLIENT_IPV6_PREFIX: prefix }).app.clientIpv6PrefixLength).toBe(
        expected,
      );
    });

    it.each(['0', '16', '129', '64.5', '/64', 'sixty-four'])(
      'refuses CLIENT_IPV6_PREFIX=%j at boot',
      (prefix) => {
        const error = configurationErrorFor({ CLIENT_IPV6_PREFIX: prefix });
        expect(problemsAbout(error, 'CLIENT_IPV6_PREFIX')).not.toEqual([]);
      },
    );
  });

  describe('code-check limits', () => {
    it('puts the per-phone code-check ceiling at ten times the per-client limit unless set', () => {
      expect(loadConfiguration({}).smsLimits).toMatchObject({
        verifyPerPhone: 10,
        verifyPhoneCeiling: 100,
      });
      expect(
        loadConfiguration({ SMS_VERIFY_PHONE_LIMIT: '4', SMS_VERIFY_PHONE_CEILING: '6' }).smsLimits,
      ).toMatchObject({ verifyPerPhone: 4, verifyPhoneCeiling: 6 });
      // Below the per-client limit, one client could use up every other's checks again.
      const error = configurationErrorFor({
        SMS_VERIFY_PHONE_LIMIT: '10',
        SMS_VERIFY_PHONE_CEILING: '9',
      });
      expect(problemsAbout(error, 'SMS_VERIFY_PHONE_CEILING')).toEqual([
        'SMS_VERIFY_PHONE_CEILING: must be at least SMS_VERIFY_PHONE_LIMIT',
      ]);
    });
  });

  describe('the rate-limit store', () => {
    it('is Redis when REDIS_URL is set and in-memory otherwise', () => {
      expect(loadConfiguration({}).rateLimit.store).toBe('memory');
      expect(loadConfiguration({ REDIS_URL: 'redis://127.0.0.1:6379' }).rateLimit.store).toBe(
        'redis',
      );
      expect(loadConfiguration({ RATE_LIMIT_STORE: 'postgres' }).rateLimit.store).toBe('postgres');
    });

    it('refuses RATE_LIMIT_STORE=redis without REDIS_URL', () => {
      const error = configurationErrorFor({ RATE_LIMIT_STORE: 'redis' });
      expect(problemsAbout(error, 'RATE_LIMIT_STORE')).toEqual([
        expect.stringContaining('REDIS_URL'),
      ]);
    });
  });

  describe('REDIS_CLUSTER_NODES', () => {
    it('runs every Redis store on the cluster, reading each entry and dropping repeats', () => {
      const configuration = loadConfiguration({
        REDIS_CLUSTER_NODES: ' 10.0.0.11:6379, redis-2.internal:7000 ,[::1]:7001,10.0.0.11:6379',
      });
      expect(configuration.redis).toEqual({
        url: undefined,
        clusterNodes: [
          { host: '10.0.0.11', port: 6379 },
          { host: 'redis-2.internal', port: 7000 },
          { host: '::1', port: 7001 },
        ],
        keyPrefix: 'sms:',
      });
      expect(configuration.rateLimit.store).toBe('redis');
    });

    it.each([
      ['redis-1', /comma-separated host:port entries/],
      ['redis-1:6379,,redis-2:6379', /comma-separated host:port entries/],
      ['redis-1:6379,redis-2:port', /comma-separated host:port entries/],
      ['redis://redis-1:6379', /"redis:\/\/redis-1:6379" is not host:port/],
      ['redis-1:6379;redis-2:6379', /"redis-1:6379;redis-2:6379" is not host:port/],
      ['::1:7000', /an IPv6 address goes in brackets/],
      ['[redis-1]:7000', /"\[redis-1\]:7000" is not host:port/],
      ['redis-1:0', /port of "redis-1:0" must be between 1 and 65535/],
      ['redis-1:6379,redis-2:65536', /port of "redis-2:65536" must be between 1 and 65535/],
    ])('refuses REDIS_CLUSTER_NODES=%j, quoting it', (nodes, reason) => {
      const error = configurationErrorFor({ REDIS_CLUSTER_NODES: nodes });
      expect(problemsAbout(error, 'REDIS_CLUSTER_NODES')).toEqual([expect.stringMatching(reason)]);
    });

    it('names each bad entry', () => {
      const error = configurationErrorFor({ REDIS_CLUSTER_NODES: 'a:1,b:70000,c/d:1,e:80000' });
      expect(problemsAbout(error, 'REDIS_CLUSTER_NODES')).toEqual([
        expect.stringContaining('"b:70000"'),
        expect.stringContaining('"c/d:1"'),
        expect.stringContaining('"e:80000"'),
      ]);
    });

    it('refuses REDIS_URL as well, rather than picking one of the two', () => {
      const error = configurationErrorFor({
        REDIS_URL: 'redis://127.0.0.1:6379',
        REDIS_CLUSTER_NODES: '127.0.0.1:7000',
      });
      expect(error.problems).toEqual([
        expect.stringMatching(/^REDIS_CLUSTER_NODES: REDIS_URL is set too.*not both$/),
      ]);
    });

    it('refuses braces in REDIS_KEY_PREFIX, which would change the hash tags', () => {
      const error = configurationErrorFor({
        REDIS_CLUSTER_NODES: '127.0.0.1:7000',
        REDIS_KEY_PREFIX: 'sms{}:',
      });
      expect(error.problems).toEqual([
        expect.stringMatching(/^REDIS_KEY_PREFIX: must not contain/),
      ]);
      const single = loadConfiguration({
        REDIS_URL: 'redis://127.0.0.1',
        REDIS_KEY_PREFIX: '{sms}:',
      });
      expect(single.redis.keyPrefix).toBe('{sms}:');
    });

    it('satisfies RATE_LIMIT_STORE=redis without REDIS_URL', () => {
      const configuration = loadConfiguration({
        RATE_LIMIT_STORE: 'redis',
        REDIS_CLUSTER_NODES: '127.0.0.1:7000',
      });
      expect(configuration.rateLimit.store).toBe('redis');
      expect(
        problemsAbout(configurationErrorFor({ RATE_LIMIT_STORE: 'redis' }), 'RATE_LIMIT_STORE'),
      ).toEqual([expect.stringContaining('REDIS_CLUSTER_NODES')]);
    });
  });

  describe('SMS_PROVIDER=auto', () => {
    it('picks Twilio Verify when the credentials and a Verify service are set', () => {
      const { sms } = loadConfiguration({
        ...TWILIO_CREDENTIALS,
        TWILIO_VERIFY_SERVICE_SID: PRODUCTION.TWILIO_VERIFY_SERVICE_SID,
      });
      expect(sms.provider).toBe('twilio-verify');
      expect(sms.messagingConfigured).toBe(false);
    });

    it('prefers Verify and keeps Messaging available when both are configured', () => {
      const { sms } = loadConfiguration({
        ...TWILIO_CREDENTIALS,
        TWILIO_VERIFY_SERVICE_SID: PRODUCTION.TWILIO_VERIFY_SERVICE_SID,
        TWILIO_FROM: '+15005550006',
      });
      expect(sms.provider).toBe('twilio-verify');
      expect(sms.messagingConfigured).toBe(true);
    });

    it.each([
      [
        'a messaging service',
        { TWILIO_MESSAGING_SERVICE_SID: 'MG0a1b2c3d4e5f60718293a4b5c6d7e8f9' },
      ],
      ['a sender number', { TWILIO_FROM: '+15005550006' }],
      ['an alphanumeric sender ID', { TWILIO_FROM: 'AcmeAuth' }],
    ])('picks Twilio Messaging with %s', (_label, sender) => {
      const { sms } = loadConfiguration({ ...TWILIO_CREDENTIALS, ...sender });
      expect(sms.provider).toBe('twilio-messaging');
    });

    it('falls back to the console provider when a credential is missing', () => {
      const withoutToken = loadConfiguration({
        TWILIO_ACCOUNT_SID: PRODUCTION.TWILIO_ACCOUNT_SID,
        TWILIO_VERIFY_SERVICE_SID: PRODUCTION.TWILIO_VERIFY_SERVICE_SID,
      });
      expect(withoutToken.sms.provider).toBe('console');
      expect(loadConfiguration(TWILIO_CREDENTIALS).sms.provider).toBe('console');
    });

    it('refuses an explicit Twilio provider without its settings', () => {
      const verify = configurationErrorFor({
        ...TWILIO_CREDENTIALS,
        SMS_PROVIDER: 'twilio-verify',
      });
      expect(verify.message).toContain('TWILIO_VERIFY_SERVICE_SID');
      const messaging = configurationErrorFor({ SMS_PROVIDER: 'twilio-messaging' });
      expect(messaging.message).toContain('TWILIO_FROM');
    });
  });

  describe('in production', () => {
    it('names every missing secret and refuses the console provider and the embedded database', () => {
      const error = configurationErrorFor({ NODE_ENV: 'production' });
      for (const variable of [
        'HASH_SECRET',
        'JWT_SECRET',
        'TWILIO_ACCOUNT_SID',
        'TWILIO_AUTH_TOKEN',
        'DATABASE_URL',
        'SMS_PROVIDER',
      ]) {
        expect(problemsAbout(error, variable)).not.toEqual([]);
      }
      expect(problemsAbout(error, 'SMS_PROVIDER')).toEqual([expect.stringContaining('console')]);
    });

    it('refuses SMS_PROVIDER=console even with every secret set', () => {
      const error = configurationErrorFor({ ...PRODUCTION, SMS_PROVIDER: 'console' });
      expect(error.problems).toEqual([
        expect.stringMatching(/^SMS_PROVIDER: the console provider/),
      ]);
    });

    it('refuses the Twilio fake-server override', () => {
      const error = configurationErrorFor({
        ...PRODUCTION,
        TWILIO_API_BASE_URL: 'http://127.0.0.1:4010',
      });
      expect(error.problems).toEqual([expect.stringMatching(/^TWILIO_API_BASE_URL/)]);
    });

    it.each([
      ['HASH_SECRET', 'change-me-change-me-change-me-change-me'],
      ['HASH_SECRET', 'your-hash-secret-goes-here-0123456789'],
      ['HASH_SECRET', 'development-only-hash-secret-do-not-use-in-production'],
      ['HASH_SECRET', 'x'.repeat(40)],
      ['TWILIO_AUTH_TOKEN', 'your_auth_token_here'],
      ['TWILIO_AUTH_TOKEN', 'placeholder-auth-token'],
      ['ADMIN_API_KEY', 'example-admin-key-0123456789abcdef0123'],
    ])('refuses the placeholder %s=%j without echoing it', (variable, placeholder) => {
      const error = configurationErrorFor({ ...PRODUCTION, [variable]: placeholder });
      expect(error.problems).toEqual([
        expect.stringMatching(new RegExp(`^${variable}: still a placeholder`)),
      ]);
      expect(error.message).not.toContain(placeholder);
    });

    it('boots with real-looking values', () => {
      const configuration = loadConfiguration(PRODUCTION);
      expect(configuration.app.isProduction).toBe(true);
      expect(configuration.sms.provider).toBe('twilio-verify');
      expect(configuration.security).toEqual({
        hashSecret: PRODUCTION.HASH_SECRET,
        hashSecretConfigured: true,
        adminApiKey: undefined,
      });
      expect(configuration.database.url).toBe(PRODUCTION.DATABASE_URL);
    });

    it('ignores SMS_TEST_NUMBERS unless explicitly allowed', () => {
      const testNumbers = { SMS_TEST_NUMBERS: '+251900000001:123456' };
      const ignored = loadConfiguration({ ...PRODUCTION, ...testNumbers }).sms;
      expect(ignored.testNumbers.size).toBe(0);
      expect(ignored.testNumbersIgnored).toBe(true);
      const allowed = loadConfiguration({
        ...PRODUCTION,
        ...testNumbers,
        SMS_ALLOW_TEST_NUMBERS_IN_PRODUCTION: 'true',
      }).sms;
      expect([...allowed.testNumbers]).toEqual([['+251900000001', '123456']]);
    });
  });
});
