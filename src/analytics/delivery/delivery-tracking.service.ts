import {
  BeforeApplicationShutdown,
  Injectable,
  Logger,
  OnModuleDestroy,
  OnModuleInit,
} from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { Clock } from '../../common/clock';
import { RecurringJobs } from '../../common/recurring-jobs';
import { RecurringTask } from '../../common/recurring-task';
import { SmsEventStatus, SmsEvents } from '../../common/events/sms-events';
import { SmsEventRepository } from '../events/sms-event.repository';
import { Configuration } from '../../config/configuration';
import { SuppressionService } from '../../sms/abuse/suppression/suppression.service';
import { SmsProviders } from '../../sms/providers/sms-providers';
import { AnalyticsConfig } from '../analytics.config';
import {
  MessageStatusUpdate,
  describeDeliveryError,
  messageStatusRank,
} from '../../sms/providers/twilio/twilio-status-callback';
import { SentMessage, SmsMessageRepository } from './sms-message.repository';

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

/**
 * Delivery state of every SMS we sent through Programmable Messaging, from Twilio's signed status
 * callbacks: analytics events, failures passed on to the suppression of dead numbers (SMS abuse
 * protection decides which ones suppress), and Twilio's real price once it is known (fetched some
 * time after delivery).
 */
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

  constructor(
    private readonly messages: SmsMessageRepository,
    private readonly suppression: SuppressionService,
    private readonly sentEvents: SmsEventRepository,
    private readonly events: SmsEvents,
    private readonly providers: SmsProviders,
    private readonly clock: Clock,
    config: ConfigService<Configuration, true>,
    jobs: RecurringJobs,
  ) {
    this.config = config.get('analytics', { infer: true });
    this.pricePoll = jobs.create(
      { name: 'Twilio price poll', intervalMs: this.config.pricePollIntervalMs },
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
    this.pricePoll.start();
  }

  async onModuleDestroy(): Promise<void> {
    await this.pricePoll.stop();
  }

  /** Before the database pools close: messages sent so far keep their tracking rows. */
  async beforeApplicationShutdown(): Promise<void> {
    await this.messages.drained();
  }

  async handle(callback: MessageStatusUpdate): Promise<{ changed: boolean }> {
    const rank = messageStatusRank(callback.status);
    if (rank === undefined) return { changed: false };
    await this.tracking.get(callback.messageSid);
    const now = this.clock.now();
    const errorCode = callback.errorCode && callback.errorCode !== '0' ? callback.errorCode : null;
    const message = await this.messages.advance({
      sid: callback.messageSid,
      status: callback.status,
      rank,
      errorCode,
      now,
    });
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
    if (errorCode) await this.suppression.deliveryFailed(message.phone_hash, errorCode, now);
    return { changed: true };
  }

  /**
   * Fetches Twilio's price for finished messages whose price is still an estimate, and how many it
   * priced. It stops at the first failure (Twilio or the database unreachable), which it throws;
   * the prices recorded before it stay, the rest wait for the next poll.
   */
  async fetchDuePrices(limit = 100): Promise<number> {
    const now = this.clock.now();
    const due = await this.messages.awaitingPrice(
      new Date(now.getTime() - this.config.priceFetchDelayMs),
      new Date(now.getTime() - 2 * 86_400_000),
      limit,
    );
    let priced = 0;
    for (const sid of due) {
      const price = await this.providers.messagePrice(sid);
      if (price && (await this.recordPrice(sid, price.amount, price.currency))) priced += 1;
    }
    return priced;
  }

  private async recordPrice(sid: string, amount: number, currency: string): Promise<boolean> {
    // The estimate in the rollup is swapped for the real price, once.
    const message = await this.messages.recordPrice(sid, amount, currency);
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
    await this.sentEvents.replaceEstimatedCost({
      sid,
      amount,
      currency,
      countryCode: message.country_code,
      purpose: message.purpose,
      estimatedCost: message.estimated_cost,
    });
    return true;
  }

  private async track(event: SentMessage): Promise<void> {
    try {
      await this.messages.track({ ...event, trackedAt: this.clock.now() });
    } catch (error) {
      this.logger.warn({ err: error }, 'could not track a sent message');
    }
  }
}
