import { Injectable, Logger } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { Configuration } from '../../../config/configuration';
import { SuppressionConfig } from '../abuse.config';
import { SmsSuppressionRepository } from './sms-suppression.repository';

/**
 * Suppression of dead numbers: a number whose SMS bounced permanently (one of
 * SMS_SUPPRESSION_ERROR_CODES: unreachable handset, unknown number, landline) gets nothing for
 * SMS_SUPPRESSION_HOURS, after which the suppression lifts by itself. Sends to it are answered as
 * usual (the SMS module's `bounced` delivery filter), so the list cannot be probed. Delivery
 * failures come from Twilio's status callbacks, which analytics' delivery tracking receives.
 */
@Injectable()
export class SuppressionService {
  private readonly logger = new Logger('Suppression');
  private readonly config: SuppressionConfig;

  constructor(
    private readonly suppressions: SmsSuppressionRepository,
    config: ConfigService<Configuration, true>,
  ) {
    this.config = config.get('suppression', { infer: true });
  }

  /**
   * A message to this number was not delivered, for `errorCode` (Twilio's): a permanent failure
   * suppresses the number from `now`, a number suppressed before starting over.
   */
  async deliveryFailed(phoneHash: string, errorCode: string, now: Date): Promise<void> {
    if (!this.config.errorCodes.has(errorCode)) return;
    const expiresAt = new Date(now.getTime() + this.config.durationMs);
    await this.suppressions.suppress(phoneHash, errorCode, now, expiresAt);
    this.logger.log({ errorCode }, 'number suppressed after a permanent delivery failure');
  }

  /** False while the number is suppressed. Every send asks; concurrent sends share one query. */
  isDeliverable(phoneHash: string): Promise<boolean> {
    return this.suppressions.isDeliverable(phoneHash);
  }
}
