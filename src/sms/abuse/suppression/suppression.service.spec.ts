import { Logger } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { Configuration } from '../../../config/configuration';
import { loadConfiguration } from '../../../config/load-configuration';
import { SmsSuppressionRepository } from './sms-suppression.repository';
import { SuppressionService } from './suppression.service';

const PHONE_HASH = 'a'.repeat(64);
const OTHER_PHONE_HASH = 'b'.repeat(64);
const HOUR_MS = 3_600_000;

/** SmsSuppressionRepository in memory: when each number's suppression ends, on a hand-moved clock. */
class InMemorySuppressions {
  private readonly ends = new Map<string, number>();
  nowMs = Date.parse('2026-06-01T12:00:00Z');

  async suppress(phoneHash: string, _errorCode: string, _now: Date, expiresAt: Date) {
    this.ends.set(phoneHash, expiresAt.getTime());
  }

  async isDeliverable(phoneHash: string): Promise<boolean> {
    return (this.ends.get(phoneHash) ?? 0) <= this.nowMs;
  }

  asRepository(): SmsSuppressionRepository {
    return this as unknown as SmsSuppressionRepository;
  }
}

function setUp() {
  const configuration = loadConfiguration({
    NODE_ENV: 'test',
    SMS_SUPPRESSION_HOURS: '24',
    SMS_SUPPRESSION_ERROR_CODES: '30003, 30005',
  });
  const config = {
    get: (key: keyof Configuration) => configuration[key],
  } as unknown as ConfigService<Configuration, true>;
  const suppressions = new InMemorySuppressions();
  const service = new SuppressionService(suppressions.asRepository(), config);
  return {
    service,
    now: () => new Date(suppressions.nowMs),
    advance: (milliseconds: number) => (suppressions.nowMs += milliseconds),
  };
}

describe('SuppressionService', () => {
  beforeEach(() => jest.spyOn(Logger.prototype, 'log').mockImplementation(() => undefined));
  afterEach(() => jest.restoreAllMocks());

  it('suppresses a number that failed permanently, for SMS_SUPPRESSION_HOURS', async () => {
    const { service, now, advance } = setUp();
    await service.deliveryFailed(PHONE_HASH, '30005', now());

    expect(await service.isDeliverable(PHONE_HASH)).toBe(false);
    expect(await service.isDeliverable(OTHER_PHONE_HASH)).toBe(true);
    advance(24 * HOUR_MS - 1);
    expect(await service.isDeliverable(PHONE_HASH)).toBe(false);
    advance(1);
    expect(await service.isDeliverable(PHONE_HASH)).toBe(true);
  });

  it('starts the suppression over when the number fails permanently again', async () => {
    const { service, now, advance } = setUp();
    await service.deliveryFailed(PHONE_HASH, '30003', now());
    advance(20 * HOUR_MS);
    await service.deliveryFailed(PHONE_HASH, '30003', now());
    advance(20 * HOUR_MS);
    expect(await service.isDeliverable(PHONE_HASH)).toBe(false);
  });

  it('leaves a number deliverable after a failure not in SMS_SUPPRESSION_ERROR_CODES', async () => {
    const { service, now } = setUp();
    await service.deliveryFailed(PHONE_HASH, '30006', now());
    await service.deliveryFailed(PHONE_HASH, '30007', now());
    expect(await service.isDeliverable(PHONE_HASH)).toBe(true);
  });
});
