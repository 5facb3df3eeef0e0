import { Injectable } from '@nestjs/common';
import { SmsEvent } from '../../common/events/sms-events';
import { WriteBatcher } from '../../database/write-batcher';
import { AnalyticsDatabase } from '../analytics-database';
import { batchDelete } from '../../database/batch-delete';
import { RetentionPurge } from '../../retention/retention-purges';

const OLD_MESSAGES = batchDelete('sms_messages', ['sid'], `created_at < $2`);

/** A `sent` event with what its sms_messages row cannot do without. */
export type SentMessage = SmsEvent & { providerSid: string; phoneHash: string; country: string };

/** A sent message to track, and when it was tracked (its row's created_at). */
export type TrackedSend = SentMessage & { trackedAt: Date };

/** A status callback's change, for the message's row. */
export interface StatusChange {
  sid: string;
  status: string;
  /** The status's place in Twilio's order (messageStatusRank): a status only moves forward. */
  rank: number;
  errorCode: string | null;
  now: Date;
}

/** What a status change answers of its message. */
export interface TrackedMessage {
  phone_hash: string;
  country_code: string;
  purpose: SmsEvent['purpose'] | null;
  verification_id: string | null;
}

/** What recording a message's price answers of it. */
export interface PricedMessage {
  estimated_cost: string | null;
  country_code: string;
  purpose: string | null;
  created_at: Date;
}

/**
 * Every statement on `sms_messages` (the analytics database): one row per Programmable Messaging
 * SMS, inserted a batch of sends per statement, whose status only ever moves forward and whose
 * price is recorded once.
 */
@Injectable()
export class SmsMessageRepository {
  private readonly writes = new WriteBatcher<TrackedSend>((batch) => this.insert(batch));

  constructor(private readonly analytics: AnalyticsDatabase) {}

  /** Inserts the message's row, queued (see WriteBatcher); a sid already tracked stays as it is. */
  track(message: TrackedSend): Promise<void> {
    return this.writes.add(message);
  }

  /** Resolves when every row tracked so far has been written or has failed (for shutdown). */
  drained(): Promise<void> {
    return this.writes.drained();
  }

  /**
   * Moves the message to `status` if that is further along than where it is: the message, or
   * undefined when the change is a duplicate, comes late, or names no message we sent.
   */
  async advance(change: StatusChange): Promise<TrackedMessage | undefined> {
    const [message] = await this.analytics.rows<TrackedMessage>(
      `UPDATE sms_messages SET status = $2, status_rank = $3, error_code = COALESCE($4, error_code), updated_at = $5
        WHERE sid = $1 AND status_rank < $3
        RETURNING phone_hash, country_code, purpose, verification_id`,
      [change.sid, change.status, change.rank, change.errorCode, change.now],
    );
    return message;
  }

  /**
   * Sids of finished messages (delivered, undelivered or failed) still without a price, that
   * finished by `finishedBy` and were sent after `sentAfter`: the longest finished first.
   */
  async awaitingPrice(finishedBy: Date, sentAfter: Date, limit: number): Promise<string[]> {
    const due = await this.analytics.rows<{ sid: string }>(
      `SELECT sid FROM sms_messages
        WHERE price IS NULL AND status_rank >= 3 AND updated_at <= $1 AND created_at > $2
        ORDER BY updated_at LIMIT $3`,
      [finishedBy, sentAfter, limit],
    );
    return due.map(({ sid }) => sid);
  }

  /** Records Twilio's price, once: the message, or undefined when it had one already. */
  async recordPrice(
    sid: string,
    amount: number,
    currency: string,
  ): Promise<PricedMessage | undefined> {
    const [message] = await this.analytics.rows<PricedMessage>(
      `UPDATE sms_messages SET price = $2, price_unit = $3 WHERE sid = $1 AND price IS NULL
        RETURNING estimated_cost, country_code, purpose, created_at`,
      [sid, amount, currency],
    );
    return message;
  }

  /** What retention deletes: messages sent ANALYTICS_RETENTION_DAYS ago. */
  retentionPurges(): RetentionPurge[] {
    return [
      {
        table: 'sms_messages',
        database: 'analytics',
        keptFor: 'analytics',
        deleteBatch: (limit, cutoff) => OLD_MESSAGES.run(this.analytics, limit, cutoff),
      },
    ];
  }

  /** The sent messages of a batch of sends, in one statement (see WriteBatcher). */
  private async insert(batch: TrackedSend[]): Promise<void> {
    const column = <T>(value: (event: (typeof batch)[number]) => T) => batch.map(value);
    await this.analytics.rows(
      `INSERT INTO sms_messages (sid, verification_id, phone_hash, country_code, purpose, status,
          status_rank, segments, estimated_cost, created_at, updated_at)
       SELECT sid, verification_id, phone_hash, country_code, purpose, 'queued', 0, segments,
              estimated_cost, tracked_at, tracked_at
         FROM unnest($1::varchar[], $2::uuid[], $3::varchar[], $4::char(2)[], $5::varchar[],
                     $6::smallint[], $7::numeric[], $8::timestamptz[])
           AS sent (sid, verification_id, phone_hash, country_code, purpose, segments,
                    estimated_cost, tracked_at)
       ON CONFLICT (sid) DO NOTHING`,
      [
        column((event) => event.providerSid),
        column((event) => event.verificationId ?? null),
        column((event) => event.phoneHash),
        column((event) => event.country),
        column((event) => event.purpose ?? null),
        column((event) => event.segments ?? 1),
        column((event) => event.cost ?? null),
        column((event) => event.trackedAt),
      ],
    );
  }
}
