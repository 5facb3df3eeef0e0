import {
  PricedMessage,
  SmsMessageRepository,
  StatusChange,
  TrackedMessage,
  TrackedSend,
} from '../../src/analytics/delivery/sms-message.repository';
import { MessagePrice, SmsEventRepository } from '../../src/analytics/events/sms-event.repository';

export interface StoredMessage extends TrackedSend {
  statusName: string;
  rank: number;
  /** The delivery error the callbacks reported (the sent event's own errorCode aside). */
  deliveryError: string | null;
  price: number | null;
  priceUnit: string | null;
  updatedAt: Date;
}

/**
 * SmsMessageRepository in memory, for unit specs of the services above it: the same answers for
 * the statements they use, one at a time (the SQL's behaviour under races is the repository
 * tier's, test/repositories/). `slowInserts` holds every tracked row back until released, as an
 * insert still on its way to the database.
 */
export class InMemoryMessages {
  readonly rows = new Map<string, StoredMessage>();
  slowInserts = false;
  private held: (() => void)[] = [];

  async track(message: TrackedSend): Promise<void> {
    if (this.slowInserts) await new Promise<void>((resolve) => this.held.push(resolve));
    if (this.rows.has(message.providerSid)) return;
    this.rows.set(message.providerSid, {
      ...message,
      statusName: 'queued',
      rank: 0,
      deliveryError: null,
      price: null,
      priceUnit: null,
      updatedAt: message.trackedAt,
    });
  }

  /** Lets the held inserts through. */
  releaseInserts(): void {
    for (const release of this.held.splice(0)) release();
  }

  async drained(): Promise<void> {}

  async advance(change: StatusChange): Promise<TrackedMessage | undefined> {
    const row = this.rows.get(change.sid);
    if (!row || row.rank >= change.rank) return undefined;
    Object.assign(row, {
      statusName: change.status,
      rank: change.rank,
      deliveryError: change.errorCode ?? row.deliveryError,
      updatedAt: change.now,
    });
    return {
      phone_hash: row.phoneHash,
      country_code: row.country,
      purpose: row.purpose ?? null,
      verification_id: row.verificationId ?? null,
    };
  }

  async awaitingPrice(finishedBy: Date, sentAfter: Date, limit: number): Promise<string[]> {
    return [...this.rows.values()]
      .filter(
        (row) =>
          row.price === null &&
          row.rank >= 3 &&
          row.updatedAt <= finishedBy &&
          row.trackedAt > sentAfter,
      )
      .sort((left, right) => left.updatedAt.getTime() - right.updatedAt.getTime())
      .slice(0, limit)
      .map((row) => row.providerSid);
  }

  async recordPrice(
    sid: string,
    amount: number,
    currency: string,
  ): Promise<PricedMessage | undefined> {
    const row = this.rows.get(sid);
    if (!row || row.price !== null) return undefined;
    Object.assign(row, { price: amount, priceUnit: currency });
    return {
      estimated_cost: row.cost === undefined ? null : row.cost.toFixed(6),
      country_code: row.country,
      purpose: row.purpose ?? null,
      created_at: row.trackedAt,
    };
  }

  asRepository(): SmsMessageRepository {
    return this as unknown as SmsMessageRepository;
  }
}

/**
 * The part of SmsEventRepository delivery tracking uses: the estimates replaced by prices, each
 * message's once (its `sent` event has no estimate left after).
 */
export class InMemoryEventCosts {
  readonly replaced: MessagePrice[] = [];

  async replaceEstimatedCost(price: MessagePrice): Promise<boolean> {
    if (this.replaced.some((earlier) => earlier.sid === price.sid)) return false;
    this.replaced.push(price);
    return true;
  }

  asRepository(): SmsEventRepository {
    return this as unknown as SmsEventRepository;
  }
}
