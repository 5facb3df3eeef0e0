import {
  BeforeApplicationShutdown,
  Injectable,
  Logger,
  OnModuleDestroy,
  OnModuleInit,
} from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { Clock } from '../../common/clock';
import { RecurringTask } from '../../common/recurring-task';
import { SmsEvent, SmsEventStatus, SmsEvents } from '../../common/events/sms-events';
import { ROLLUP_DETAIL_SQL } from '../events/sms-event-rollup.entity';
import { Configuration } from '../../config/configuration';
import { Sql } from '../../database/sql';
import { BatchedLookup } from '../../database/batched-lookup';
import { WriteBatcher } from '../../database/write-batcher';
import { DeliveryFilters } from '../../sms/delivery-filters';
import { SmsProviders } from '../../sms/providers/sms-providers';
import { AnalyticsConfig } from '../analytics.config';
import { AnalyticsDatabase } from '../analytics-database';
import {
  MessageStatusUpdate,
  describeDeliveryError,
  messageStatusRank,
} from '../../sms/providers/twilio/twilio-status-callback';

/**
 * Terminal statuses worth an analytics event; the `sent` event was recorded at send time. Twilio's
 * `failed` (never left Twilio) and `undelivered` (the carrier gave up) both mean the code did not
 * arrive: in analytics `failed` is kept for sends our provider call could not make at all.
 */
const EVENT_FOR_STATUS: Partial<Record<string, SmsEventStatus>> = {
  delivered: 'delivered',
  undelivered: 'undelivered',
  failed: 'undelivered',
};

interface TrackedMessage {
  phone_hash: string;
  country_code: string;
  purpose: SmsEvent['purpose'] | null;
  verification_id: string | null;
}

/**
 * Delivery state of every SMS we sent through Programmable Messaging, from Twilio's signed status
 * callbacks: analytics events, suppression of numbers that bounce permanently, and Twilio's real
 * price once it is known (fetched some time after delivery).
 */
/** A `sent` event with what its sms_messages row cannot do without. */
type SentMessage = SmsEvent & { providerSid: string; phoneHash: string; country: string };

@Injectable()
export class DeliveryTrackingService
  implements OnModuleInit, OnModuleDestroy, BeforeApplicationShutdown
{
  private readonly logger = new Logger('DeliveryTracking');
  private readonly config: AnalyticsConfig;
  private readonly pricePoll: RecurringTask;
  /** The currency reports add costs up in (SMS_BUDGET_CURRENCY). */
  private readonly currency: string;
  private otherCurrencyLogged = false;
  /** Inserts of just-sent messages still in flight, so a fast callback can wait for its row. */
  private readonly tracking = new Map<string, Promise<void>>();
  private readonly messageWrites = new WriteBatcher<SentMessage & { trackedAt: Date }>((batch) =>
    this.insertMessages(batch),
  );

  constructor(
    private readonly analytics: AnalyticsDatabase,
    private readonly sql: Sql,
    private readonly events: SmsEvents,
    private readonly filters: DeliveryFilters,
    private readonly providers: SmsProviders,
    private readonly clock: Clock,
    config: ConfigService<Configuration, true>,
  ) {
    this.config = config.get('analytics', { infer: true });
    this.pricePoll = new RecurringTask(
      {
        name: 'Twilio price poll',
        intervalMs: this.config.pricePollIntervalMs,
        maxBackoffMs: config.get('app', { infer: true }).backgroundRetryMaxMs,
      },
      () => this.fetchDuePrices(),
      this.logger,
    );
    this.currency = config.get('budget', { infer: true }).currency;
  }

  onModuleInit(): void {
    this.events.subscribe((event) => {
      const sid = event.providerSid;
      if (event.status !== 'sent' || !sid?.startsWith('SM')) return;
      if (!event.phoneHash || !event.country) return;
      const insert = this.track({
        ...event,
        providerSid: sid,
        phoneHash: event.phoneHash,
        country: event.country,
      }).finally(() => this.tracking.delete(sid));
      this.tracking.set(sid, insert);
    });
    this.filters.register('bounced', (target) => this.isDeliverable(target.phoneHash));
    this.pricePoll.start();
  }

  async onModuleDestroy(): Promise<void> {
    await this.pricePoll.stop();
  }

  /** Before the database pools close: messages sent so far keep their tracking rows. */
  async beforeApplicationShutdown(): Promise<void> {
    await this.messageWrites.drained();
  }

  async handle(callback: MessageStatusUpdate): Promise<{ changed: boolean }> {
    const rank = messageStatusRank(callback.status);
    if (rank === undefined) return { changed: false };
    await this.tracking.get(callback.messageSid);
    const now = this.clock.now();
    const errorCode = callback.errorCode && callback.errorCode !== '0' ? callback.errorCode : null;
    const [message] = await this.analytics.rows<TrackedMessage>(
      `UPDATE sms_messages SET status = $2, status_rank = $3, error_code = COALESCE($4, error_code), updated_at = $5
        WHERE sid = $1 AND status_rank < $3
        RETURNING phone_hash, country_code, purpose, verification_id`,
      [callback.messageSid, callback.status, rank, errorCode, now],
    );
    if (!message) return { changed: false };

    const eventStatus = EVENT_FOR_STATUS[callback.status];
    if (eventStatus) {
      this.events.publish({
        status: eventStatus,
        occurredAt: now,
        phoneHash: message.phone_hash,
        country: message.country_code,
        purpose: message.purpose ?? undefined,
        verificationId: message.verification_id ?? undefined,
        providerSid: callback.messageSid,
        channel: 'twilio-messaging',
        errorCode: errorCode ?? undefined,
        errorMessage: errorCode ? describeDeliveryError(errorCode) : undefined,
      });
    }
    if (errorCode && this.config.suppressionErrorCodes.has(errorCode)) {
      await this.suppress(message.phone_hash, errorCode, now);
    }
    return { changed: true };
  }

  /**
   * Fetches Twilio's price for finished messages whose price is still an estimate, and how many it
   * priced. It stops at the first failure (Twilio or the database unreachable), which it throws;
   * the prices recorded before it stay, the rest wait for the next poll.
   */
  async fetchDuePrices(limit = 100): Promise<number> {
    const now = this.clock.now();
    const due = await this.analytics.rows<{ sid: string }>(
      `SELECT sid FROM sms_messages
        WHERE price IS NULL AND status_rank >= 3 AND updated_at <= $1 AND created_at > $2
        ORDER BY updated_at LIMIT $3`,
      [
        new Date(now.getTime() - this.config.priceFetchDelayMs),
        new Date(now.getTime() - 2 * 86_400_000),
        limit,
      ],
    );
    let priced = 0;
    for (const { sid } of due) {
      const price = await this.providers.messagePrice(sid);
      if (price && (await this.recordPrice(sid, price.amount, price.currency))) priced += 1;
    }
    return priced;
  }

  private async recordPrice(sid: string, amount: number, currency: string): Promise<boolean> {
    // The estimate in the rollup is swapped for the real price, once.
    const [message] = await this.analytics.rows<{
      estimated_cost: string | null;
      country_code: string;
      purpose: string | null;
      created_at: Date;
    }>(
      `UPDATE sms_messages SET price = $2, price_unit = $3 WHERE sid = $1 AND price IS NULL
        RETURNING estimated_cost, country_code, purpose, created_at`,
      [sid, amount, currency],
    );
    if (!message) return false;
    // Reports add costs up in one currency: a price in another one keeps the estimate
    // (the message row keeps Twilio's price).
    if (currency !== this.currency) {
      if (!this.otherCurrencyLogged) {
        this.otherCurrencyLogged = true;
        this.logger.warn(
          { priceUnit: currency, currency: this.currency },
          'Twilio prices in another currency than SMS_BUDGET_CURRENCY: costs stay estimates',
        );
      }
      return true;
    }
    const [sent] = await this.analytics.rows<{ occurred_at: Date; detail: string }>(
      `UPDATE sms_events SET cost = $2, currency = $3, cost_source = 'twilio'
        WHERE provider_sid = $1 AND status = 'sent' AND cost_source = 'estimate'
        RETURNING occurred_at, ${ROLLUP_DETAIL_SQL} AS detail`,
      [sid, amount, currency],
    );
    if (sent) {
      await this.analytics.rows(
        `UPDATE sms_event_rollups
            SET cost = cost + $4, estimated_cost_events = GREATEST(estimated_cost_events - 1, 0)
          WHERE bucket = date_trunc('hour', $1::timestamptz, 'UTC') AND country_code = $2 AND purpose = $3
            AND status = 'sent' AND detail = $5`,
        [
          sent.occurred_at,
          message.country_code,
          message.purpose ?? '-',
          amount - Number(message.estimated_cost ?? 0),
          sent.detail,
        ],
      );
    }
    return true;
  }

  private async track(event: SentMessage): Promise<void> {
    try {
      await this.messageWrites.add({ ...event, trackedAt: this.clock.now() });
    } catch (error) {
      this.logger.warn({ err: error }, 'could not track a sent message');
    }
  }

  /** The sent messages of a batch of sends, in one statement (see WriteBatcher). */
  private async insertMessages(batch: (SentMessage & { trackedAt: Date })[]) {
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

  private async suppress(phoneHash: string, errorCode: string, now: Date): Promise<void> {
    const expiresAt = new Date(now.getTime() + this.config.suppressionHours * 3_600_000);
    await this.sql.rows(
      `INSERT INTO sms_suppressions (phone_hash, error_code, created_at, expires_at)
       VALUES ($1, $2, $3, $4)
       ON CONFLICT (phone_hash) DO UPDATE SET error_code = $2, created_at = $3, expires_at = $4`,
      [phoneHash, errorCode, now, expiresAt],
    );
    this.logger.log({ errorCode }, 'number suppressed after a permanent delivery failure');
  }

  /** Every send asks, so concurrent sends share one query. */
  private isDeliverable(phoneHash: string): Promise<boolean> {
    return this.deliverable.get(phoneHash);
  }

  private readonly deliverable = new BatchedLookup<string, boolean>(async (phoneHashes) => {
    const suppressed = await this.sql.rows<{ phone_hash: string }>(
      `SELECT phone_hash FROM sms_suppressions WHERE phone_hash = ANY($1) AND expires_at > $2`,
      [phoneHashes, this.clock.now()],
    );
    return new Map(suppressed.map((row) => [row.phone_hash, false]));
  }, true);
}
