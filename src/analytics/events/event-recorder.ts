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
import { uuidV7 } from '../../common/uuid';
import { Configuration } from '../../config/configuration';
import { AnalyticsConfig } from '../analytics.config';
import { AnalyticsDatabase } from '../analytics-database';
import {
  addInto,
  bucketOf,
  emptyHistogram,
  sqlAddHistograms,
  sqlBucketOf,
  RESPONSE_TIME_BUCKETS,
} from '../response-time-histogram';
import { ROLLUP_DETAIL_SQL, sqlUtcPeriodOf } from './sms-event-rollup.entity';

/** An event with what the request knew about itself. */
export interface RecordedEvent extends SmsEvent {
  /** Given when buffered, so a batch written twice stores each event once. */
  id?: string;
  ipHash?: string;
  userAgent?: string;
  /** The X-Request-Id of the request that produced it. */
  requestId?: string;
  responseTimeMs?: number;
}

/** A recorded event once buffered: it has its id. */
type BufferedEvent = RecordedEvent & { id: string };

/** One minute of one route's response times, as sms_request_timings stores them. */
interface RouteMinute {
  minute: Date;
  route: string;
  requests: number;
  responseMsSum: number;
  histogram: number[];
}

/** The columns of sms_events a batch writes, with the SQL type of the array that carries each. */
const COLUMNS = [
  ['id', 'uuid'],
  ['phone_hash', 'varchar'],
  ['purpose', 'varchar'],
  ['status', 'varchar'],
  ['channel', 'varchar'],
  ['verification_id', 'uuid'],
  ['provider_sid', 'varchar'],
  ['country_code', 'varchar'],
  ['carrier', 'varchar'],
  ['cost', 'numeric'],
  ['currency', 'varchar'],
  ['cost_source', 'varchar'],
  ['occurred_at', 'timestamptz'],
  ['response_time_ms', 'integer'],
  ['provider_latency_ms', 'integer'],
  ['error_code', 'varchar'],
  ['error_message', 'text'],
  ['user_agent', 'varchar'],
  ['ip_hash', 'varchar'],
  ['request_id', 'varchar'],
  ['encoding', 'varchar'],
  ['segments', 'smallint'],
  ['layer', 'varchar'],
] as const;

function rowOf(event: BufferedEvent): unknown[] {
  return [
    event.id,
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
    event.requestId ?? null,
    event.encoding ?? null,
    event.segments ?? null,
    event.layer ?? null,
  ];
}

/** The histogram of a batch group, from the bucket each inserted row returned. */
const BATCH_HISTOGRAM = `ARRAY[${Array.from(
  { length: RESPONSE_TIME_BUCKETS },
  (_, index) => `count(*) FILTER (WHERE rt_bucket = ${index})`,
).join(', ')}]::integer[]`;

/** The events' hourly rollups, from the `inserted` rows. */
const ROLLUP_UPSERT = `
       INSERT INTO sms_event_rollups AS rollup
         (bucket, country_code, purpose, status, detail, events, cost, estimated_cost_events,
          response_count, response_ms_sum)
       SELECT ${sqlUtcPeriodOf('occurred_at', '1 hour')}, COALESCE(country_code, '--'), COALESCE(purpose, '-'),
              status, detail, count(*), COALESCE(sum(cost), 0),
              count(*) FILTER (WHERE cost_source = 'estimate'),
              count(response_time_ms), COALESCE(sum(response_time_ms), 0)
         FROM inserted
        GROUP BY 1, 2, 3, 4, 5
       ON CONFLICT (bucket, country_code, purpose, status, detail) DO UPDATE SET
         events = rollup.events + EXCLUDED.events,
         cost = rollup.cost + EXCLUDED.cost,
         estimated_cost_events = rollup.estimated_cost_events + EXCLUDED.estimated_cost_events,
         response_count = rollup.response_count + EXCLUDED.response_count,
         response_ms_sum = rollup.response_ms_sum + EXCLUDED.response_ms_sum`;

/** The hourly response-time histograms, from the `inserted` rows that carry a time. */
const RESPONSE_TIME_UPSERT = `
       INSERT INTO sms_response_time_rollups AS rollup
         (bucket, country_code, purpose, responses, rt_histogram)
       SELECT ${sqlUtcPeriodOf('occurred_at', '1 hour')}, COALESCE(country_code, '--'), COALESCE(purpose, '-'),
              count(*), ${BATCH_HISTOGRAM}
         FROM inserted
        WHERE response_time_ms IS NOT NULL
        GROUP BY 1, 2, 3
       ON CONFLICT (bucket, country_code, purpose) DO UPDATE SET
         responses = rollup.responses + EXCLUDED.responses,
         rt_histogram = ${sqlAddHistograms('rollup.rt_histogram', 'EXCLUDED.rt_histogram')}`;

/**
 * A batch of events, one array per column: a single prepared statement whatever the batch size
 * (a VALUES list would be parsed and planned again for every batch, with a parameter per field).
 */
const WRITE_EVENTS = `
  WITH inserted AS (
    INSERT INTO sms_events (${COLUMNS.map(([column]) => column).join(', ')})
    SELECT * FROM unnest(${COLUMNS.map(([, type], index) => `$${index + 1}::${type}[]`).join(', ')})
    ON CONFLICT (id) DO NOTHING
    RETURNING occurred_at, country_code, purpose, status, ${ROLLUP_DETAIL_SQL} AS detail,
              cost, cost_source, response_time_ms, ${sqlBucketOf('response_time_ms')} AS rt_bucket
  ), rolled_up AS (${ROLLUP_UPSERT}
  )
  ${RESPONSE_TIME_UPSERT}`;

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
        await this.writeTimings([...timings.values()]);
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
      await this.write(batch);
      this.buffer.splice(0, batch.length);
    }
  }

  /**
   * A write whose answer is lost (the connection drops after the commit) fails here and is tried
   * again: the events' ids make the second try insert nothing, and the rollups count only the
   * rows inserted, so an outage neither loses nor doubles a fact.
   */
  private async write(batch: BufferedEvent[]): Promise<void> {
    const rows = batch.map(rowOf);
    await this.database.prepared(
      'analytics-write-events',
      WRITE_EVENTS,
      COLUMNS.map((_, index) => rows.map((row) => row[index])),
    );
  }

  /** Every route-minute of the batch in one statement, added to what other instances wrote. */
  private async writeTimings(timings: RouteMinute[]): Promise<void> {
    const column = <T>(value: (timing: RouteMinute) => T) => timings.map(value);
    await this.database.rows(
      `INSERT INTO sms_request_timings AS timing (minute, route, requests, response_ms_sum, rt_histogram)
       SELECT minute, route, requests, response_ms_sum,
              string_to_array(histogram, ',')::integer[]
         FROM unnest($1::timestamptz[], $2::varchar[], $3::integer[], $4::bigint[], $5::text[])
           AS batch (minute, route, requests, response_ms_sum, histogram)
       ON CONFLICT (minute, route) DO UPDATE SET
         requests = timing.requests + EXCLUDED.requests,
         response_ms_sum = timing.response_ms_sum + EXCLUDED.response_ms_sum,
         rt_histogram = ${sqlAddHistograms('timing.rt_histogram', 'EXCLUDED.rt_histogram')}`,
      [
        column((timing) => timing.minute),
        column((timing) => timing.route.slice(0, 64)),
        column((timing) => timing.requests),
        column((timing) => timing.responseMsSum),
        // A two-dimensional array parameter would need equal lengths anyway: one text each.
        column((timing) => timing.histogram.join(',')),
      ],
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
