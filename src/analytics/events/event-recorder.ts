import {
  BeforeApplicationShutdown,
  Injectable,
  Logger,
  OnModuleDestroy,
  OnModuleInit,
} from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { Hasher } from '../../common/hasher';
import { RecurringJobs } from '../../common/recurring-jobs';
import { RecurringTask } from '../../common/recurring-task';
import { SmsEvent, SmsEvents } from '../../common/events/sms-events';
import { requestContext } from '../../common/request-context';
import { uuidV7 } from '../../common/uuid';
import { Configuration } from '../../config/configuration';
import { AnalyticsConfig } from '../analytics.config';
import { addInto, bucketOf, emptyHistogram } from '../response-time-histogram';
import {
  BufferedEvent,
  RecordedEvent,
  RouteMinute,
  SmsEventRepository,
} from './sms-event.repository';

const MINUTE_MS = 60_000;
/** Route-minutes held while the database is unreachable (a day of ten busy routes). */
const MAX_ROUTE_MINUTES = 15_000;

/**
 * Writes events in batches, off the request path: publishing only appends to a buffer, a timer
 * flushes it (one statement inserts the events and updates the hourly rollups), and shutdown
 * flushes what is left. A database outage keeps events buffered, up to a bound, and the flushes
 * back off (RecurringTask) until a write succeeds again.
 */
@Injectable()
export class EventRecorder implements OnModuleInit, OnModuleDestroy, BeforeApplicationShutdown {
  private readonly logger = new Logger('EventRecorder');
  private readonly config: AnalyticsConfig;
  private buffer: BufferedEvent[] = [];
  private readonly task: RecurringTask;
  /** Request timings not yet written, by minute and route. */
  private timings = new Map<string, RouteMinute>();
  private flushing?: Promise<void>;
  private dropped = 0;

  constructor(
    private readonly repository: SmsEventRepository,
    private readonly events: SmsEvents,
    private readonly hasher: Hasher,
    config: ConfigService<Configuration, true>,
    jobs: RecurringJobs,
  ) {
    this.config = config.get('analytics', { infer: true });
    this.task = jobs.create(
      { name: 'analytics writes', intervalMs: this.config.flushIntervalMs },
      () => this.writeBuffered(),
      this.logger,
    );
  }

  onModuleInit(): void {
    if (!this.config.enabled) {
      this.logger.log('ENABLE_SMS_ANALYTICS=false: events are not recorded');
      return;
    }
    this.events.subscribe((event) => this.capture(event));
    this.task.start();
  }

  /** Events dropped because the buffer was full while the database was unreachable. */
  get droppedEvents(): number {
    return this.dropped;
  }

  private capture(event: SmsEvent): void {
    const context = requestContext.getStore();
    const recorded: RecordedEvent = context
      ? {
          ...event,
          ipHash: this.hasher.hashClient(context.ip),
          userAgent: context.userAgent?.slice(0, 256),
          requestId: context.requestId.slice(0, 128),
        }
      : { ...event };
    // Inside a timed request the event waits for the response time (request-timings.ts).
    if (context?.deferred) context.deferred.events.push(recorded);
    else this.enqueue(recorded);
  }

  enqueue(event: RecordedEvent): void {
    this.buffer.push({ ...event, id: event.id ?? uuidV7(event.occurredAt.getTime()) });
    if (this.buffer.length > this.config.maxBuffered) {
      const excess = this.buffer.length - this.config.maxBuffered;
      this.buffer.splice(0, excess);
      this.dropped += excess;
    }
    // A write in progress takes what arrives meanwhile (writeAll loops until the buffer is empty);
    // starting another flush per event would split the load into many small inserts. While writes
    // fail, the task's back-off decides when to try again, not the traffic.
    if (this.buffer.length >= this.config.batchSize && !this.flushing) this.task.runSoon();
  }

  /**
   * One response of an SMS or auth route, added to its minute's histogram; written with the
   * events. Without analytics nothing is recorded (the response-time alert then has no data).
   */
  recordRequest(route: string, milliseconds: number, at: Date): void {
    if (!this.config.enabled) return;
    const minute = new Date(Math.floor(at.getTime() / MINUTE_MS) * MINUTE_MS);
    const key = `${minute.getTime()} ${route}`;
    let timing = this.timings.get(key);
    if (!timing) {
      if (this.timings.size >= MAX_ROUTE_MINUTES) {
        this.timings.delete(this.timings.keys().next().value!);
        this.dropped += 1;
      }
      timing = { minute, route, requests: 0, responseMsSum: 0, histogram: emptyHistogram() };
      this.timings.set(key, timing);
    }
    timing.requests += 1;
    timing.responseMsSum += Math.round(milliseconds);
    timing.histogram[bucketOf(milliseconds)] += 1;
  }

  /**
   * Writes everything buffered so far; concurrent callers share one flush at a time. Never
   * throws: what could not be written stays buffered for the next flush.
   */
  async flush(): Promise<void> {
    await this.writeBuffered().catch(() => undefined);
  }

  /** As flush(), but throws when a write fails (RecurringTask logs it and backs off). */
  private async writeBuffered(): Promise<void> {
    while (this.flushing) await this.flushing.catch(() => undefined);
    if (this.buffer.length === 0 && this.timings.size === 0) return;
    this.flushing = this.writeAll().finally(() => (this.flushing = undefined));
    await this.flushing;
  }

  private async writeAll(): Promise<void> {
    if (this.timings.size > 0) {
      const timings = this.timings;
      this.timings = new Map();
      try {
        await this.repository.writeTimings([...timings.values()]);
      } catch (error) {
        // Put them back, merged with what arrived meanwhile; the events below will fail too.
        for (const [key, timing] of timings) {
          const newer = this.timings.get(key);
          if (newer) {
            timing.requests += newer.requests;
            timing.responseMsSum += newer.responseMsSum;
            addInto(timing.histogram, newer.histogram);
          }
          this.timings.set(key, timing);
        }
        throw error;
      }
    }
    while (this.buffer.length > 0) {
      const batch = this.buffer.slice(0, this.config.batchSize);
      await this.repository.write(batch);
      this.buffer.splice(0, batch.length);
    }
  }

  async onModuleDestroy(): Promise<void> {
    await this.task.stop();
  }

  /** Runs before the database pools close: nothing accepted is lost on a graceful stop. */
  async beforeApplicationShutdown(): Promise<void> {
    await this.task.stop();
    await this.flush();
    if (this.buffer.length > 0) {
      this.logger.error(
        { pending: this.buffer.length },
        'analytics events could not be written before shutdown',
      );
    }
  }
}
