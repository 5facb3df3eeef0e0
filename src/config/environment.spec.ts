import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { parseEnv } from 'node:util';
import { PRODUCTION, configurationErrorFor, problemsAbout } from '../../test/support/configuration';
import { ENVIRONMENT_SECTIONS, declaredVariables } from './environment';
import { loadConfiguration } from './load-configuration';

interface ExampleEntry {
  name: string;
  value: string;
  commented: boolean;
}

/** `NAME=value` (a default) or `# NAME=value` (optional, unset by default) lines of .env.example. */
function readEnvExample(): { text: string; entries: ExampleEntry[] } {
  const text = readFileSync(resolve(__dirname, '../../.env.example'), 'utf8');
  const entries = text.split('\n').flatMap((line) => {
    const match = /^(# )?([A-Z][A-Z0-9_]*)=(.*)$/.exec(line);
    return match ? [{ commented: Boolean(match[1]), name: match[2], value: match[3] }] : [];
  });
  return { text, entries };
}

/** Every variable some section declares, in section order. */
function allDeclaredVariables(): string[] {
  return ENVIRONMENT_SECTIONS.flatMap((section) => declaredVariables(section));
}

/** Each variable's default from its section's class (undefined: unset unless configured). */
function defaults(): Record<string, unknown> {
  return Object.assign({}, ...ENVIRONMENT_SECTIONS.map((section) => new section()));
}

describe('the environment sections', () => {
  it('declare each variable once, in one module', () => {
    const variables = allDeclaredVariables();
    const repeated = variables.filter((name, index) => variables.indexOf(name) !== index);
    expect(repeated).toEqual([]);
    const empty = ENVIRONMENT_SECTIONS.filter((section) => declaredVariables(section).length === 0);
    expect(empty.map((section) => section.name)).toEqual([]);
  });

  it('keep the values of other sections from overriding theirs', () => {
    // Each section is read from the whole environment; only its own variables are kept.
    const configuration = loadConfiguration({ PORT: '4000', METRICS_PORT: '4001' });
    expect(configuration.app.port).toBe(4000);
    expect(configuration.metrics.port).toBe(4001);
  });
});

describe('loadConfiguration: each variable', () => {
  describe('refuses bad values, naming the variable', () => {
    it('refuses SMS_RATE_LIMIT_WINDOW=abc and shows the bad value', () => {
      const error = configurationErrorFor({ SMS_RATE_LIMIT_WINDOW: 'abc' });
      expect(problemsAbout(error, 'SMS_RATE_LIMIT_WINDOW')).not.toEqual([]);
      expect(error.problems.every((problem) => problem.startsWith('SMS_RATE_LIMIT_WINDOW'))).toBe(
        true,
      );
      expect(error.message).toContain('"abc"');
      expect(error.message).toContain('.env.example');
    });

    it.each(['abc', '-1', '65536', '3000.5', ''])('refuses PORT=%j', (port) => {
      const error = configurationErrorFor({ PORT: port });
      expect(problemsAbout(error, 'PORT')).not.toEqual([]);
    });

    it('accepts PORT=0 (any free port) and PORT=65535', () => {
      expect(loadConfiguration({ PORT: '0' }).app.port).toBe(0);
      expect(loadConfiguration({ PORT: ' 65535 ' }).app.port).toBe(65535);
    });

    it.each([
      ['ET;US', /comma-separated/],
      ['ET,USA', /comma-separated/],
      ['ET,XX', /"XX" is not a known country/],
    ])('refuses SUPPORTED_COUNTRIES=%j', (countries, reason) => {
      const error = configurationErrorFor({ SUPPORTED_COUNTRIES: countries });
      const problems = problemsAbout(error, 'SUPPORTED_COUNTRIES');
      expect(problems).toEqual([expect.stringMatching(reason)]);
    });

    it('normalizes SUPPORTED_COUNTRIES case, spacing and duplicates', () => {
      const { phone } = loadConfiguration({
        DEFAULT_COUNTRY_CODE: 'us',
        SUPPORTED_COUNTRIES: ' us, et ,US',
      });
      expect(phone.defaultCountry).toBe('US');
      expect(phone.supportedCountries).toEqual(['US', 'ET']);
    });

    it('refuses a DEFAULT_COUNTRY_CODE outside SUPPORTED_COUNTRIES', () => {
      const error = configurationErrorFor({ DEFAULT_COUNTRY_CODE: 'FR' });
      expect(problemsAbout(error, 'DEFAULT_COUNTRY_CODE')).toEqual([
        expect.stringContaining('not in SUPPORTED_COUNTRIES'),
      ]);
    });

    it.each([
      ['10.0.0.0/8,proxy.internal', 'proxy.internal'],
      ['10.0.0.256', '10.0.0.256'],
      ['yes', 'yes'],
      ['10.0.0.0/', '10.0.0.0/'],
      ['127.0.0.1,,10.0.0.1', ''],
      ['10.0.0.0/33', '10.0.0.0/33'],
      ['::1/129', '::1/129'],
    ])('refuses TRUST_PROXY=%j, quoting the bad entry', (trustProxy, entry) => {
      const error = configurationErrorFor({ TRUST_PROXY: trustProxy });
      expect(problemsAbout(error, 'TRUST_PROXY')).toEqual([expect.stringContaining(`"${entry}"`)]);
    });

    it('lists every bad variable at once', () => {
      const error = configurationErrorFor({
        PORT: 'http',
        LOG_LEVEL: 'verbose',
        SMS_PROVIDER: 'carrier-pigeon',
        ENABLE_SMS_ANALYTICS: 'maybe',
      });
      for (const variable of ['PORT', 'LOG_LEVEL', 'SMS_PROVIDER', 'ENABLE_SMS_ANALYTICS']) {
        expect(problemsAbout(error, variable)).not.toEqual([]);
      }
    });
  });

  describe('never echoes a secret value', () => {
    it.each([
      ['HASH_SECRET', 'tooShortSecret-4f9a1c', '4f9a1c'],
      ['ADMIN_API_KEY', 'shortAdminKey-77b2e1', '77b2e1'],
      ['TWILIO_AUTH_TOKEN', 'tok-5e2a9c', '5e2a9c'],
      ['DATABASE_URL', 'mysql://app:db-password-31@db.internal/sms', 'db-password-31'],
      ['ANALYTICS_DB_URL', 'mongodb://app:analytics-pw-5@db.internal/events', 'analytics-pw-5'],
      ['REDIS_URL', 'http://:redis-password-8@cache.internal:6379', 'redis-password-8'],
    ])('names %s but not its value', (variable, value, secretPart) => {
      const error = configurationErrorFor({ [variable]: value });
      expect(problemsAbout(error, variable)).not.toEqual([]);
      expect(error.message).not.toContain(secretPart);
    });
  });
});

describe('.env.example', () => {
  const { text, entries } = readEnvExample();

  it('documents exactly the variables the environment sections declare', () => {
    const documented = entries.map((entry) => entry.name);
    expect(documented.length).toBe(new Set(documented).size);
    expect([...documented].sort()).toEqual(allDeclaredVariables().sort());
  });

  it('shows each default as NAME=default and comments out exactly the unset ones', () => {
    const values = defaults();
    for (const { name, value, commented } of entries) {
      if (values[name] === undefined) {
        expect({ name, commented }).toEqual({ name, commented: true });
      } else {
        expect({ name, commented, value }).toEqual({
          name,
          commented: false,
          value: String(values[name]),
        });
      }
    }
  });

  it('loads as-is into the same configuration as an empty environment', () => {
    expect(loadConfiguration(parseEnv(text))).toEqual(loadConfiguration({}));
  });

  it('gives secrets placeholders that production refuses', () => {
    const placeholders = new Map(entries.map((entry) => [entry.name, entry.value]));
    for (const variable of [
      'HASH_SECRET',
      'ADMIN_API_KEY',
      'JWT_SECRET',
      'TWILIO_ACCOUNT_SID',
      'TWILIO_AUTH_TOKEN',
      'TWILIO_VERIFY_SERVICE_SID',
    ]) {
      const placeholder = placeholders.get(variable);
      expect(placeholder).toEqual(expect.any(String));
      const error = configurationErrorFor({ ...PRODUCTION, [variable]: placeholder });
      expect(problemsAbout(error, variable)).not.toEqual([]);
    }
  });
});
