import { Clock } from '../../src/common/clock';
import { SmsSuppressionRepository } from '../../src/sms/abuse/suppression/sms-suppression.repository';

/** SmsSuppressionRepository in memory: numbers and when their suppression ends, on `clock`. */
export class InMemorySuppressions {
  readonly numbers = new Map<string, { errorCode: string; expiresAt: Date }>();

  constructor(private readonly clock: Clock) {}

  async suppress(phoneHash: string, errorCode: string, _now: Date, expiresAt: Date) {
    this.numbers.set(phoneHash, { errorCode, expiresAt });
  }

  async isDeliverable(phoneHash: string): Promise<boolean> {
    const suppression = this.numbers.get(phoneHash);
    return !suppression || suppression.expiresAt <= this.clock.now();
  }

  asRepository(): SmsSuppressionRepository {
    return this as unknown as SmsSuppressionRepository;
  }
}
