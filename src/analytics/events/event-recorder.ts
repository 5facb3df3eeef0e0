import {
  BeforeApplicationShutdown,
  Injectable,
  Logger,
  OnModuleDestroy,
  OnModuleInit,
} from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { Hasher } from '../../common/hasher';
import { RecurringTask } from '../../common/recurring-task';
import { SmsEvent, SmsEvents } from '../../common/events/sms-events';
import { requestContext } from '../../common/request-context';
import { Configuration } from '../../config/configuration';
import { AnalyticsConfig } from '../analytics.config';
import { AnalyticsDatabase } from '../analytics-database';
import { RESPONSE_TIME_BUCKETS_MS } from './sms-event-rollup.entity';

/** An event with what the request knew about itself. */
export interface RecordedEvent extends SmsEvent {
  ipHash?: string;
  userAgent?: string;
  sessionId?: string;
  responseTimeMs?: number;
}

const COLUMNS = [
  'phone_hash',
  'purpose',
  'status',
  'channel',
  'verification_id',
  'provider_sid',
  'country_code',
  'carrier',
  'cost',
  'currency',
  'cost_source',
  'occurred_at',
  'response_time_ms',
  'provider_latency_ms',
  'error_code',
  'error_message',
  'user_agent',
  'ip_hash',
  'session_id',
  'encoding',
  'segments',
  'layer',
] as const;

function rowOf(event: RecordedEvent): unknown[] {
  return [
    event.phoneHash ?? null,
    event.purpose ?? null,
    event.status,
    event.channel ?? null,
    event.verificationId ?? null,
    event.providerSid ?? null,
    event.country ?? null,
    event.carrier?.slice(0, 100) ?? null,
    event.cost ?? null,
    event.currency ?? null,
    event.costSource ?? null,
    event.occurredAt,
    event.responseTimeMs ?? null,
    event.providerLatencyMs === undefined ? null : Math.round(event.providerLatencyMs),
    event.errorCode ?? null,
    event.errorMessage ?? null,
    event.userAgent ?? null,
    event.ipHash ?? null,
    event.sessionId ?? null,
    event.encoding ?? null,
    event.segments ?? null,
    event.layer ?? null,
  ];
}

const bucketColumns = [...RESPONSE_TIME_BUCKETS_MS.map((limit) => `rt_le_${limit}`), 'rt_gt_5000'];

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
  private buffer: RecordedEvent[] = [];
  private readonly task: RecurringTask;
  private flushing?: Promise<void>;
  private dropped = 0;

  constructor(
    private readonly database: AnalyticsDatabase,
    private readonly events: SmsEvents,
    private readonly hasher: Hasher,
    config: ConfigService<Configuration, true>,
  ) {
    this.config = config.get('analytics', { infer: true });
    this.task = new RecurringTask(
      {
        name: 'analytics writes',
        intervalMs: this.config.flushIntervalMs,
        maxBackoffMs: config.get('app', { infer: true }).backgroundRetryMaxMs,
      },
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
          sessionId: context.requestId.slice(0, 128),
        }
      : { ...event };
    // Inside a timed request the event waits for the response time (timing.interceptor.ts).
    if (context?.deferred) context.deferred.events.push(recorded);
    else this.enqueue(recorded);
  }

  enqueue(event: RecordedEvent): void {
    this.buffer.push(event);
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
   * Writes everything buffered so far; concurrent callers share one flush at a time. Never
   * throws: what could not be written stays buffered for the next flush.
   */
  async flush(): Promise<void> {
    await this.writeBuffered().catch(() => undefined);
  }

  /** As flush(), but throws when a write fails. */
  private async writeBuffered(): Promise<void> {
    while (this.flushing) await this.flushing.catch(() => undefined);
    if (this.buffer.length === 0) return;
    this.flushing = this.writeAll().finally(() => (this.flushing = undefined));
    await this.flushing;
  }

  private async writeAll(): Promise<void> {
    while (this.buffer.length > 0) {
      const batch = this.buffer.slice(0, this.config.batchSize);
      await this.write(batch);
      this.buffer.splice(0, batch.length);
    }
  }

  private async write(batch: RecordedEvent[]): Promise<void> {
    const values: unknown[] = [];
    const tuples = batch.map((event) => {
      const row = rowOf(event);
      const placeholders = row.map((value) => {
        values.push(value);
        return `$${values.length}`;
      });
      return `(${placeholders.join(', ')})`;
    });
    const bucketSums = bucketColumns
      .map((column, index) => {
        const lower = index === 0 ? null : RESPONSE_TIME_BUCKETS_MS[index - 1];
        const upper = RESPONSE_TIME_BUCKETS_MS[index];
        const condition =
          upper === undefined
            ? `response_time_ms > ${lower}`
            : lower === null
              ? `response_time_ms <= ${upper}`
              : `response_time_ms > ${lower} AND response_time_ms <= ${upper}`;
        return `count(*) FILTER (WHERE ${condition}) AS ${column}`;
      })
      .join(', ');
    await this.database.rows(
      `WITH inserted AS (
         INSERT INTO sms_events (${COLUMNS.join(', ')}) VALUES ${tuples.join(', ')}
         RETURNING occurred_at, country_code, purpose, status, cost, cost_source, response_time_ms
       )
       INSERT INTO sms_event_rollups AS rollup
         (bucket, country_code, purpose, status, events, cost, estimated_cost_events,
          response_count, response_ms_sum, ${bucketColumns.join(', ')})
       SELECT date_trunc('hour', occurred_at), COALESCE(country_code, '--'), COALESCE(purpose, '-'),
              status, count(*), COALESCE(sum(cost), 0),
              count(*) FILTER (WHERE cost_source = 'estimate'),
              count(response_time_ms), COALESCE(sum(response_time_ms), 0), ${bucketSums}
         FROM inserted
        GROUP BY 1, 2, 3, 4
       ON CONFLICT (bucket, country_code, purpose, status) DO UPDATE SET
         events = rollup.events + EXCLUDED.events,
         cost = rollup.cost + EXCLUDED.cost,
         estimated_cost_events = rollup.estimated_cost_events + EXCLUDED.estimated_cost_events,
         response_count = rollup.response_count + EXCLUDED.response_count,
         response_ms_sum = rollup.response_ms_sum + EXCLUDED.response_ms_sum,
         ${bucketColumns.map((column) => `${column} = rollup.${column} + EXCLUDED.${column}`).join(',\n         ')}`,
      values,
    );
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
