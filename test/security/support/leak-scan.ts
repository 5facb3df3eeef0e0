import Redis from 'ioredis';
import { DataSource } from 'typeorm';
import { EventRecorder } from '../../../src/analytics/events/event-recorder';
import { FakeTwilioServer } from '../../fakes/fake-twilio-server';
import { TEST_JWT_SECRET } from '../../support/auth-client';
import { TEST_HASH_SECRET, TestApp } from '../../support/test-app';
import { TEST_TWILIO } from '../../support/twilio-test-credentials';

const E164 = /^\+[1-9]\d{6,14}$/;
const TOKEN_FIELDS = new Set([
  'verification_token',
  'verificationToken',
  'accessToken',
  'refreshToken',
  'twoFactorToken',
]);

/**
 * Everything secret a suite handled: the numbers it used, the codes the fake Twilio delivered,
 * the tokens and passwords. At the end of the suite, none may be found in a log line, a database
 * row or a Redis key.
 */
export class SecretLedger {
  readonly phoneNumbers = new Set<string>();
  readonly codes = new Set<string>();
  readonly tokens = new Set<string>();
  readonly passwords = new Set<string>();

  phone(e164: string): string {
    this.phoneNumbers.add(e164);
    return e164;
  }

  password(password: string): string {
    this.passwords.add(password);
    return password;
  }

  /** Records every token a response body carries, at any depth. */
  absorb(body: unknown): void {
    if (body === null || typeof body !== 'object') return;
    for (const [key, value] of Object.entries(body as Record<string, unknown>)) {
      if (TOKEN_FIELDS.has(key) && typeof value === 'string') this.tokens.add(value);
      else this.absorb(value);
    }
  }

  /** Every code the fake Twilio sent or made, and every number it sent to. */
  harvest(fake: FakeTwilioServer): void {
    for (const message of fake.messages) {
      this.phoneNumbers.add(message.to);
      for (const match of message.body.matchAll(/\d{4,10}/g)) this.codes.add(match[0]);
    }
    for (const verification of fake.verifications) {
      this.phoneNumbers.add(verification.to);
      this.codes.add(verification.code);
    }
  }
}

const WHOLE_DIGIT_RUN = /(?<![0-9A-Za-z.])\d+(?![0-9A-Za-z])/g;

/**
 * Finds the ledger's secrets in a text in one pass over its digit runs, plus a substring search
 * for the few long secrets (tokens, passwords, credentials).
 */
class Detector {
  private readonly phoneForms: Map<string, string>;
  private readonly codes: Set<string>;
  private readonly literals: [kind: string, value: string][];

  constructor(ledger: SecretLedger, options: { phones: boolean }) {
    // A number as a log or a column could hold it: international digits, national with its trunk
    // prefix, or national without.
    this.phoneForms = new Map(
      options.phones
        ? [...ledger.phoneNumbers].flatMap((e164) => [
            [e164.slice(1), e164],
            [`0${e164.slice(-9)}`, e164],
            [e164.slice(-9), e164],
          ])
        : [],
    );
    this.codes = ledger.codes;
    this.literals = [
      ...[...ledger.tokens].map((token): [string, string] => [
        `token ${token.slice(0, 12)}…`,
        token,
      ]),
      ...[...ledger.passwords].map((password): [string, string] => [
        `password ${password}`,
        password,
      ]),
      ['the Twilio auth token', TEST_TWILIO.authToken],
      ['HASH_SECRET', TEST_HASH_SECRET],
      ['JWT_SECRET', TEST_JWT_SECRET],
    ];
  }

  find(text: string): string[] {
    const found: string[] = [];
    // Digit runs are compared whole: as bare substrings, numbers and codes turn up by chance
    // inside hashes, UUIDs and the decimals of timings. A run counts when no letter, digit or
    // decimal point precedes it and no letter or digit follows it. Formatted numbers
    // ("+251 91 600 0001") count too: spaces, dashes and parentheses between digits are dropped.
    const squeezed = text.replace(/(?<=\d)[\s()-]+(?=\d)/g, '');
    for (const [run] of squeezed.matchAll(WHOLE_DIGIT_RUN)) {
      const e164 = this.phoneForms.get(run);
      if (e164) found.push(`phone number ${e164}`);
    }
    for (const [run] of text.matchAll(WHOLE_DIGIT_RUN)) {
      if (this.codes.has(run)) found.push(`code ${run}`);
    }
    for (const [kind, value] of this.literals) {
      if (text.includes(value)) found.push(kind);
    }
    return found;
  }
}

function stringify(value: unknown): string {
  if (value instanceof Date) return value.toISOString();
  if (Buffer.isBuffer(value)) return value.toString('utf8');
  return typeof value === 'string' ? value : JSON.stringify(value);
}

/**
 * Where any of the ledger's secrets appear: in the service's log lines, in any column of any row
 * of every table (phone numbers are allowed in users.phone_number only, which must stay E.164 so
 * that login by SMS can find the account), and in the names of its Redis keys.
 */
export async function findLeaks(service: TestApp, ledger: SecretLedger): Promise<string[]> {
  await service.app.get(EventRecorder).flush();
  const everything = new Detector(ledger, { phones: true });
  const allButPhones = new Detector(ledger, { phones: false });
  const leaks: string[] = [];

  service.logs.forEach((line, index) => {
    for (const kind of everything.find(JSON.stringify(line))) {
      leaks.push(`${kind} in log line ${index}: ${String(line.msg)}`);
    }
  });

  const dataSource = service.app.get(DataSource);
  const tables: { table_name: string }[] = await dataSource.query(
    `SELECT table_name FROM information_schema.tables
      WHERE table_schema = current_schema() AND table_type = 'BASE TABLE' ORDER BY table_name`,
  );
  for (const { table_name: table } of tables) {
    const rows: Record<string, unknown>[] = await dataSource.query(`SELECT * FROM "${table}"`);
    for (const row of rows) {
      for (const [column, value] of Object.entries(row)) {
        if (value === null || value === undefined) continue;
        const text = stringify(value);
        const isAccountNumber = table === 'users' && column === 'phone_number';
        if (isAccountNumber && !E164.test(text)) {
          leaks.push(`users.phone_number is not E.164: ${text}`);
        }
        for (const kind of (isAccountNumber ? allButPhones : everything).find(text)) {
          leaks.push(`${kind} in ${table}.${column}`);
        }
      }
    }
  }

  const redisUrl = service.configuration.redis.url;
  if (redisUrl) {
    const redis = new Redis(redisUrl, { maxRetriesPerRequest: 1 });
    try {
      let cursor = '0';
      do {
        const [next, keys] = await redis.scan(
          cursor,
          'MATCH',
          `${service.redisKeyPrefix}*`,
          'COUNT',
          1000,
        );
        for (const key of keys) {
          for (const kind of everything.find(key)) leaks.push(`${kind} in Redis key ${key}`);
        }
        cursor = next;
      } while (cursor !== '0');
    } finally {
      redis.disconnect();
    }
  }
  return leaks;
}
