import { Injectable } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { Clock } from '../common/clock';
import { Configuration } from '../config/configuration';
import { BatchedLookup } from '../database/batched-lookup';
import { VerificationRepository } from './verification.repository';

/** Whether a number has proven before that someone reads its SMS (say, it has an account). */
export type NumberVouch = (phoneHash: string) => Promise<boolean>;

/**
 * Which numbers have verified before: an approved verification within SMS_PUMPING_HISTORY_DAYS,
 * or whatever other modules vouch for (the auth module: an account). A pumping hold spares these
 * numbers, so an attacker who trips a hold cannot cut real users off.
 *
 * Every send asks, whether or not a hold applies and whatever the answer: a lookup made only for
 * some numbers would take time only for them. Lookups of one event-loop turn share one query,
 * which reads a partial index of verified rows only (small enough to stay in memory).
 */
@Injectable()
export class NumberHistory {
  private readonly vouches: { name: string; vouch: NumberVouch }[] = [];
  private readonly lookBackMs: number;

  private readonly approvals = new BatchedLookup<string, boolean>(async (hashes) => {
    const since = new Date(this.clock.now().getTime() - this.lookBackMs);
    const verified = await this.verifications.verifiedSince(hashes, since);
    return new Map([...verified].map((hash) => [hash, true]));
  }, false);

  constructor(
    private readonly verifications: VerificationRepository,
    private readonly clock: Clock,
    config: ConfigService<Configuration, true>,
  ) {
    this.lookBackMs = config.get('pumping', { infer: true }).historyMs;
  }

  register(name: string, vouch: NumberVouch): void {
    this.vouches.push({ name, vouch });
  }

  /**
   * True when the number has an approved verification in the look-back or a registered source
   * vouches for it. Every lookup starts at once, in the caller's turn of the event loop, so it
   * shares its query with other lookups of that turn (the account filter's, for one).
   */
  async verifiedBefore(phoneHash: string): Promise<boolean> {
    const answers = await Promise.all([
      this.lookBackMs > 0 ? this.approvals.get(phoneHash) : false,
      ...this.vouches.map(({ vouch }) => vouch(phoneHash)),
    ]);
    return answers.some(Boolean);
  }
}
