import { ConfigService } from '@nestjs/config';
import { Clock } from '../common/clock';
import { SmsEvent, SmsEvents } from '../common/events/sms-events';
import { Hasher } from '../common/hasher';
import { RandomSource } from '../common/random';
import { Configuration } from '../config/configuration';
import { loadConfiguration } from '../config/load-configuration';
import { PhoneService } from '../phone/phone.service';
import { RateLimitService } from './abuse/rate-limit.service';
import { InMemoryVerifications } from '../../test/fakes/in-memory-verifications';
import { SmsRequests } from './abuse/sms-request';
import { CodeChecker } from './code-checker';
import { ProviderTiming } from './provider-timing';
import { SmsProvider } from './providers/sms-provider';
import { SmsProviders } from './providers/sms-providers';
import {
  InvalidProofError,
  VerificationAttemptsExceededError,
  VerificationNotFoundError,
} from './sms.errors';
import { VerificationResources } from './verification-resources';

const NOW = new Date('2026-06-01T12:01:00Z');
const PHONE = '+251911234567';
const hasher = new Hasher('unit-test-secret-0123456789abcdef0123');
const phoneHash = hasher.hash('phone', PHONE);

class FixedRandom extends RandomSource {
  digits(length: number) {
    return '7'.repeat(length);
  }
  token() {
    return 'token';
  }
  hex(bytes: number) {
    return 'ab'.repeat(bytes);
  }
}

/** The client's limits, counted: `refuseGuess` makes the next guess a 429. */
class Limits {
  guesses = 0;
  cleared = 0;
  refuseGuess?: Error;
  async consumeCodeCheck() {}
  async consumeCodeGuess() {
    if (this.refuseGuess) throw this.refuseGuess;
    this.guesses += 1;
  }
  async clearCodeGuesses() {
    this.cleared += 1;
  }
}

function setUp(options: { provider?: Partial<SmsProvider> } = {}) {
  const configuration = loadConfiguration({ NODE_ENV: 'test' });
  const config = {
    get: (key: keyof Configuration) => configuration[key],
  } as unknown as ConfigService<Configuration, true>;
  const verifications = new InMemoryVerifications();
  const limits = new Limits();
  const events: SmsEvent[] = [];
  const bus = new SmsEvents();
  bus.subscribe((event) => events.push(event));
  const provider = { name: 'twilio-verify', ownsCodes: true, ...options.provider } as SmsProvider;
  const providers = { byName: () => provider } as unknown as SmsProviders;
  const clock: Clock = { now: () => NOW };
  const phones = new PhoneService(config);
  const checker = new CodeChecker(
    verifications.asRepository(),
    new VerificationResources(hasher, new FixedRandom(), config),
    new ProviderTiming(config),
    phones,
    new SmsRequests(phones, hasher),
    providers,
    limits as unknown as RateLimitService,
    bus,
    hasher,
    clock,
    new FixedRandom(),
    config,
  );
  const check = (code: string) =>
    checker.check({ phoneNumber: PHONE, code, purpose: 'login', clientIp: '192.0.2.1' });
  return { checker, verifications, limits, events, check };
}

/** A verification whose code we check ourselves. */
function ours(verifications: InMemoryVerifications, maxAttempts = 3) {
  return verifications.add(phoneHash, 'login', {
    code_hash: hasher.hash('code', '123456'),
    max_attempts: maxAttempts,
  });
}

describe('CodeChecker', () => {
  it('approves a right code once and hands out a token that proves the number once', async () => {
    const { checker, verifications, limits, events, check } = setUp();
    ours(verifications);
    const approved = await check('123456');
    expect(approved).toMatchObject({ status: 'approved', valid: true, to: PHONE });
    expect(approved.verification_token).toMatch(/^vt_/);
    expect(limits.cleared).toBe(1);
    expect(events.map((event) => event.status)).toEqual(['verified']);

    const token = approved.verification_token!;
    expect(await checker.consumeToken(token, PHONE, 'registration')).toBe(false);
    expect(await checker.consumeToken(token, PHONE, 'login')).toBe(true);
    expect(await checker.consumeToken(token, PHONE, 'login')).toBe(false);
    await expect(check('123456')).rejects.toBeInstanceOf(VerificationNotFoundError);
  });

  it('answers a wrong code as pending, and the last wrong one ends the verification', async () => {
    const { verifications, events, check } = setUp();
    const row = ours(verifications, 2);
    expect(await check('000000')).toMatchObject({ status: 'pending', valid: false });
    await expect(check('000000')).rejects.toBeInstanceOf(VerificationAttemptsExceededError);
    expect(row.status).toBe('failed');
    expect(events.map((event) => [event.status, event.layer])).toEqual([
      ['wrong_code', undefined],
      ['security', 'code-attempts'],
    ]);
    // Spent: the right code proves nothing now, and nothing more is counted.
    await expect(check('123456')).rejects.toBeInstanceOf(VerificationNotFoundError);
  });

  it('spends nothing of the number when no verification is live', async () => {
    const { limits, check } = setUp();
    await expect(check('123456')).rejects.toBeInstanceOf(VerificationNotFoundError);
    expect(limits.guesses).toBe(0);
  });

  it('gives the attempt back when a limit refuses the guess before it is compared', async () => {
    const { verifications, limits, check } = setUp();
    const row = ours(verifications);
    limits.refuseGuess = new Error('429');
    await expect(check('123456')).rejects.toThrow('429');
    expect(row.attempts).toBe(0);
    expect(row.status).toBe('pending');
  });

  it('gives the attempt back when the provider cannot check the code', async () => {
    const outage = new Error('Twilio is down');
    const { verifications, check } = setUp({
      provider: { check: () => Promise.reject(outage) },
    });
    const row = verifications.add(phoneHash, 'login', { provider_sid: 'VEremote' });
    await expect(check('123456')).rejects.toBe(outage);
    expect(row.attempts).toBe(0);
  });

  it('ends the verification when Twilio says its attempts are spent, and reports it', async () => {
    const { verifications, events, check } = setUp({
      provider: { check: () => Promise.reject(new VerificationAttemptsExceededError()) },
    });
    const row = verifications.add(phoneHash, 'login', { provider_sid: 'VEremote' });
    await expect(check('123456')).rejects.toBeInstanceOf(VerificationAttemptsExceededError);
    expect(row.status).toBe('failed');
    expect(events.map((event) => event.layer)).toEqual(['code-attempts']);
  });

  it('turns every failed proof into the same InvalidProofError', async () => {
    const { checker, verifications } = setUp();
    const prove = (proof: { code?: string; verificationToken?: string }) =>
      checker.prove({ e164: PHONE, purpose: 'login', clientIp: '192.0.2.1', ...proof });
    await expect(prove({})).rejects.toBeInstanceOf(InvalidProofError);
    await expect(prove({ code: '123456' })).rejects.toBeInstanceOf(InvalidProofError);
    await expect(prove({ verificationToken: 'vt_forged' })).rejects.toBeInstanceOf(
      InvalidProofError,
    );
    ours(verifications);
    await expect(prove({ code: '123456' })).resolves.toBeUndefined();
    await expect(prove({ code: '123456' })).rejects.toBeInstanceOf(InvalidProofError);
  });
});
