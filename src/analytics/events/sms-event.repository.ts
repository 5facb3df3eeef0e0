import { Injectable } from '@nestjs/common';
import { SmsEvent } from '../../common/events/sms-events';
import { AnalyticsDatabase } from '../analytics-database';
import { RESPONSE_TIME_BUCKETS, sqlAddHistograms, sqlBucketOf } from '../response-time-histogram';
import { ROLLUP_DETAIL_SQL, sqlUtcPeriodOf } from './sms-event-rollup.entity';
import { batchDelete } from '../../database/batch-delete';
import { RetentionPurge } from '../../retention/retention-purges';

/**
 * Per-minute request timings serve the response-time alert (the last hour) and a look back at an
 * incident; the reports' response times live in the hourly rollups.
 */
export const REQUEST_TIMINGS_RETENTION_DAYS = 7;
const HOUR_MS = 3_600_000;

const OLD_EVENTS = batchDelete('sms_events', ['id'], `occurred_at < $2`);
const OLD_ROLLUPS = batchDelete(
  'sms_event_rollups',
  ['bucket', 'country_code', 'purpose', 'status'],
  `bucket <= $2`,
);
const OLD_RESPONSE_TIME_ROLLUPS = batchDelete(
  'sms_response_time_rollups',
  ['bucket', 'country_code', 'purpose'],
  `bucket <= $2`,
);
const OLD_REQUEST_TIMINGS = batchDelete('sms_request_timings', ['minute', 'route'], `minute < $2`);

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
export type BufferedEvent = RecordedEvent & { id: string };

/** One minute of one route's response times, as sms_request_timings stores them. */
export interface RouteMinute {
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

/** A message's price from Twilio, to replace the estimate its `sent` event was recorded with. */
export interface MessagePrice {
  sid: string;
  amount: number;
  currency: string;
  /** The message's country and purpose, as its sms_messages row has them: its rollup's key. */
  countryCode: string;
  purpose: string | null;
  /** The estimate recorded at send time. */
  estimatedCost: string | null;
}

/**
 * The writes of `sms_events`, their hourly rollups and the request timings, on the analytics
 * database: batches of events in one prepared statement that updates the rollups with the rows
 * it inserted, and the estimate-to-price swap of a sent message.
 */
@Injectable()
export class SmsEventRepository {
  constructor(private readonly database: AnalyticsDatabase) {}

  /**
   * A write whose answer is lost (the connection drops after the commit) fails here and is tried
   * again: the events' ids make the second try insert nothing, and the rollups count only the
   * rows inserted, so an outage neither loses nor doubles a fact.
   */
  async write(batch: BufferedEvent[]): Promise<void> {
    const rows = batch.map(rowOf);
    await this.database.prepared(
      'analytics-write-events',
      WRITE_EVENTS,
      COLUMNS.map((_, index) => rows.map((row) => row[index])),
    );
  }

  /** Every route-minute of the batch in one statement, added to what other instances wrote. */
  async writeTimings(timings: RouteMinute[]): Promise<void> {
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

  /**
   * Swaps the estimate of the message's `sent` event for Twilio's price, once, and moves the
   * event's hourly rollup by the difference: false when the event has no estimate left to swap.
   */
  async replaceEstimatedCost(price: MessagePrice): Promise<boolean> {
    const [sent] = await this.database.rows<{ occurred_at: Date; detail: string }>(
      `UPDATE sms_events SET cost = $2, currency = $3, cost_source = 'twilio'
        WHERE provider_sid = $1 AND status = 'sent' AND cost_source = 'estimate'
        RETURNING occurred_at, ${ROLLUP_DETAIL_SQL} AS detail`,
      [price.sid, price.amount, price.currency],
    );
    if (!sent) return false;
    await this.database.rows(
      `UPDATE sms_event_rollups
            SET cost = cost + $4, estimated_cost_events = GREATEST(estimated_cost_events - 1, 0)
          WHERE bucket = date_trunc('hour', $1::timestamptz, 'UTC') AND country_code = $2 AND purpose = $3
            AND status = 'sent' AND detail = $5`,
      [
        sent.occurred_at,
        price.countryCode,
        price.purpose ?? '-',
        price.amount - Number(price.estimatedCost ?? 0),
        sent.detail,
      ],
    );
    return true;
  }

  /**
   * What retention deletes: events and rollups ANALYTICS_RETENTION_DAYS old, request timings
   * REQUEST_TIMINGS_RETENTION_DAYS old.
   */
  retentionPurges(): RetentionPurge[] {
    // An hourly bucket goes once the whole of its hour is older than the cutoff.
    const lastOldBucket = (cutoff: Date) => new Date(cutoff.getTime() - HOUR_MS);
    const analytics = { database: 'analytics', keptFor: 'analytics' } as const;
    return [
      {
        ...analytics,
        table: 'sms_events',
        deleteBatch: (limit, cutoff) => OLD_EVENTS.run(this.database, limit, cutoff),
      },
      {
        ...analytics,
        table: 'sms_event_rollups',
        deleteBatch: (limit, cutoff) =>
          OLD_ROLLUPS.run(this.database, limit, lastOldBucket(cutoff)),
      },
      {
        ...analytics,
        table: 'sms_response_time_rollups',
        deleteBatch: (limit, cutoff) =>
          OLD_RESPONSE_TIME_ROLLUPS.run(this.database, limit, lastOldBucket(cutoff)),
      },
      {
        database: 'analytics',
        keptFor: { days: REQUEST_TIMINGS_RETENTION_DAYS },
        table: 'sms_request_timings',
        deleteBatch: (limit, cutoff) => OLD_REQUEST_TIMINGS.run(this.database, limit, cutoff),
      },
    ];
  }
}
