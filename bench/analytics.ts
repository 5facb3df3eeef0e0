import Redis from 'ioredis';
import { join } from 'node:path';
import { Client } from 'pg';
import { ROLLUP_DETAIL_SQL } from '../src/analytics/events/sms-event-rollup.entity';
import { RESPONSE_TIME_BUCKETS, sqlBucketOf } from '../src/analytics/response-time-histogram';
import { AppProcess } from './support/app.process';
import {
  BENCH_DATABASE_PREFIX,
  createDatabase,
  dropAbandonedDatabases,
  dropDatabase,
} from './support/database';
import { Cleanup, freePort, hex, log, runWithCleanup } from './support/lifecycle';
import {
  AnalyticsEndpointResult,
  AnalyticsResults,
  RESULTS_DIRECTORY,
  renderAnalyticsTable,
  replaceGeneratedBlock,
  writeJson,
} from './support/report';
import { deleteKeys } from './support/seed';

/**
 * `npm run bench:analytics` (also the last step of `npm run bench`): the operator reports over
 * 1,000,000 events spread over 90 days, timed over HTTP for a 30-day range.
 */

const EVENTS = Number(process.env.BENCH_ANALYTICS_EVENTS ?? 1_000_000);
const RUNS = 7;
const RANGE_DAYS = 30;
const TARGET_MS = 200;
/** As in run.ts: a logical database of its own, keys under a run prefix. */
const REDIS_URL = process.env.BENCH_REDIS_URL ?? 'redis://127.0.0.1:6379/15';
const ENDPOINTS = ['summary', 'success-rates', 'costs', 'countries', 'failures', 'security'];

/**
 * One INSERT … SELECT generate_series: countries ET/US/GB/CA/AU (55/20/10/8/7 %), purposes
 * (login 40 %, registration 35 %, two_factor 15 %, password_reset 10 %), statuses in the
 * proportions a healthy service shows (most sends delivered, about half verified, a few per cent
 * limited or undelivered), per-country prices on sends (a fifth already priced by Twilio),
 * response times log-normal around 200 ms, and Twilio error codes on failures.
 */
const SEED_EVENTS = `
INSERT INTO sms_events
  (phone_hash, purpose, status, channel, verification_id, provider_sid, country_code, cost,
   currency, cost_source, occurred_at, response_time_ms, provider_latency_ms, error_code,
   error_message, user_agent, ip_hash, request_id, encoding, segments, layer)
SELECT md5(i::text) || md5((i % 300000)::text),
       CASE WHEN p < 0.40 THEN 'login' WHEN p < 0.75 THEN 'registration'
            WHEN p < 0.90 THEN 'two_factor' ELSE 'password_reset' END,
       status, CASE WHEN status IN ('sent', 'delivered', 'undelivered', 'failed')
                    THEN 'twilio-messaging' END,
       gen_random_uuid(), CASE WHEN status IN ('sent', 'delivered', 'undelivered')
                               THEN 'SM' || md5((i / 3)::text) END,
       country,
       CASE WHEN status = 'sent' THEN CASE country WHEN 'ET' THEN 0.05 WHEN 'US' THEN 0.0083
            WHEN 'CA' THEN 0.0083 WHEN 'GB' THEN 0.0463 ELSE 0.0515 END END,
       CASE WHEN status = 'sent' THEN 'USD' END,
       CASE WHEN status = 'sent' THEN CASE WHEN r < 0.2 THEN 'twilio' ELSE 'estimate' END END,
       at,
       CASE WHEN status IN ('sent', 'failed', 'verified', 'rate_limited', 'suppressed')
            THEN least(30000, exp(5.3 + 0.55 * sqrt(-2 * ln(1 - u1)) * cos(2 * pi() * u2)))::int END,
       CASE WHEN status = 'sent' THEN (80 + 400 * u1)::int END,
       CASE WHEN status = 'undelivered'
              THEN (ARRAY['30003','30005','30006','30007','30008'])[1 + (i % 5)]
            WHEN status = 'failed'
              THEN (ARRAY['SMS_PROVIDER_UNAVAILABLE','SMS_PROVIDER_REJECTED'])[1 + (i % 2)] END,
       CASE WHEN status IN ('undelivered', 'failed') THEN 'Delivery error' END,
       'Mozilla/5.0 (Linux; Android 14) Mobile', md5((i % 50000)::text) || md5('ip'),
       md5(i::text), CASE WHEN country = 'ET' THEN 'UCS-2' ELSE 'GSM-7' END, 1,
       CASE WHEN status = 'rate_limited'
            THEN (ARRAY['phone','ip','cooldown','purpose'])[1 + (i % 4)] END
  FROM (SELECT i, random() AS p, random() AS r, random() AS u1, random() AS u2,
               now() - random() * interval '90 days' AS at,
               CASE WHEN c < 0.55 THEN 'ET' WHEN c < 0.75 THEN 'US' WHEN c < 0.85 THEN 'GB'
                    WHEN c < 0.93 THEN 'CA' ELSE 'AU' END AS country,
               CASE WHEN s < 0.38 THEN 'sent' WHEN s < 0.71 THEN 'delivered'
                    WHEN s < 0.89 THEN 'verified' WHEN s < 0.94 THEN 'expired'
                    WHEN s < 0.955 THEN 'undelivered' WHEN s < 0.965 THEN 'failed'
                    WHEN s < 0.995 THEN 'rate_limited' WHEN s < 0.998 THEN 'suppressed'
                    ELSE 'held' END AS status
          FROM (SELECT i, random() AS c, random() AS s FROM generate_series(1, $1) AS i) AS base
       ) AS seed`;

/** The hourly rollups the EventRecorder keeps, rebuilt from the seeded events. */
const SEED_ROLLUPS = `
INSERT INTO sms_event_rollups
  (bucket, country_code, purpose, status, detail, events, cost, estimated_cost_events,
   response_count, response_ms_sum)
SELECT date_trunc('hour', occurred_at, 'UTC'), COALESCE(country_code, '--'), COALESCE(purpose, '-'),
       status, ${ROLLUP_DETAIL_SQL}, count(*), COALESCE(sum(cost), 0),
       count(*) FILTER (WHERE cost_source = 'estimate'), count(response_time_ms),
       COALESCE(sum(response_time_ms), 0)
  FROM sms_events GROUP BY 1, 2, 3, 4, 5`;

/** Their response-time histograms, likewise. */
const SEED_RESPONSE_TIMES = `
INSERT INTO sms_response_time_rollups (bucket, country_code, purpose, responses, rt_histogram)
SELECT date_trunc('hour', occurred_at, 'UTC'), COALESCE(country_code, '--'), COALESCE(purpose, '-'),
       count(*),
       ARRAY[${Array.from(
         { length: RESPONSE_TIME_BUCKETS },
         (_, index) => `count(*) FILTER (WHERE rt_bucket = ${index})`,
       ).join(', ')}]::integer[]
  FROM (SELECT occurred_at, country_code, purpose, ${sqlBucketOf('response_time_ms')} AS rt_bucket
          FROM sms_events WHERE response_time_ms IS NOT NULL) AS event
 GROUP BY 1, 2, 3`;

async function timeEndpoint(
  app: AppProcess,
  path: string,
  adminApiKey: string,
): Promise<AnalyticsEndpointResult> {
  let body = '';
  const call = async (): Promise<{ ms: number; status: number }> => {
    const started = performance.now();
    const response = await fetch(`${app.url}${path}`, {
      headers: { authorization: `Bearer ${adminApiKey}` },
    });
    body = await response.text();
    return { ms: performance.now() - started, status: response.status };
  };
  await call();
  const timings: number[] = [];
  let status = 0;
  for (let run = 0; run < RUNS; run += 1) {
    const result = await call();
    timings.push(result.ms);
    status = result.status;
  }
  timings.sort((left, right) => left - right);
  const medianMs = Math.round(timings[Math.floor(timings.length / 2)] * 10) / 10;
  const maxMs = Math.round(timings[timings.length - 1] * 10) / 10;
  return {
    path: path.split('?')[0],
    runs: RUNS,
    medianMs,
    maxMs,
    status,
    met: status === 200 && medianMs < TARGET_MS && maxMs < TARGET_MS,
    responseBytes: Buffer.byteLength(body),
    ...(path.startsWith('/analytics/sms/summary') ? { response: JSON.parse(body) as unknown } : {}),
  };
}

async function run(cleanup: Cleanup): Promise<void> {
  const started = performance.now();
  await dropAbandonedDatabases();
  const databaseName = `${BENCH_DATABASE_PREFIX}${process.pid}_analytics_${hex(3)}`;
  const databaseUrl = await createDatabase(databaseName);
  cleanup.add(`database ${databaseName}`, () => dropDatabase(databaseName));
  const redis = new Redis(REDIS_URL, { maxRetriesPerRequest: 2 });
  cleanup.add('redis client', () => redis.quit());
  const redisPrefix = `bench:${process.pid}:${hex(3)}:`;
  cleanup.add(`Redis keys ${redisPrefix}*`, () => deleteKeys(redis, redisPrefix));

  const adminApiKey = hex(32);
  const port = await freePort();
  log(`analytics: app on ${databaseName} (migrations run at boot)`);
  const app = await AppProcess.start({
    port,
    env: {
      NODE_ENV: 'test',
      LOG_LEVEL: 'warn',
      HOST: '127.0.0.1',
      PORT: String(port),
      HASH_SECRET: hex(32),
      JWT_SECRET: hex(32),
      ADMIN_API_KEY: adminApiKey,
      DATABASE_URL: databaseUrl,
      REDIS_URL,
      REDIS_KEY_PREFIX: redisPrefix,
    },
  });
  cleanup.add('app', () => app.stop());

  const client = new Client({ connectionString: databaseUrl });
  await client.connect();
  cleanup.add('database client', () => client.end());
  log(`analytics: seeding ${EVENTS.toLocaleString('en-US')} events and their hourly rollups`);
  const seedStarted = performance.now();
  await client.query(SEED_EVENTS, [EVENTS]);
  await client.query(SEED_ROLLUPS);
  await client.query(SEED_RESPONSE_TIMES);
  await client.query('VACUUM (ANALYZE) sms_events');
  await client.query('VACUUM (ANALYZE) sms_event_rollups');
  await client.query('VACUUM (ANALYZE) sms_response_time_rollups');
  const seedSeconds = Math.round((performance.now() - seedStarted) / 100) / 10;
  const { rows } = await client.query<{ count: string }>(
    'SELECT count(*) AS count FROM sms_event_rollups',
  );

  const to = new Date();
  const from = new Date(to.getTime() - RANGE_DAYS * 86_400_000);
  const query = `from=${from.toISOString()}&to=${to.toISOString()}`;
  const endpoints: AnalyticsEndpointResult[] = [];
  for (const endpoint of ENDPOINTS) {
    const result = await timeEndpoint(app, `/analytics/sms/${endpoint}?${query}`, adminApiKey);
    log(
      `  ${result.path}: median ${result.medianMs} ms, max ${result.maxMs} ms (${result.status})`,
    );
    endpoints.push(result);
  }

  const results: AnalyticsResults = {
    date: to.toISOString().slice(0, 10),
    totalSeconds: Math.round((performance.now() - started) / 1000),
    events: EVENTS,
    rollupRows: Number(rows[0].count),
    seedSeconds,
    rangeDays: RANGE_DAYS,
    endpoints,
  };
  writeJson(join(RESULTS_DIRECTORY, `${results.date}-analytics.json`), results);
  replaceGeneratedBlock('analytics', renderAnalyticsTable(results));
  log(`results: bench/results/${results.date}-analytics.json, docs/BENCHMARKS.md`);
}

runWithCleanup('bench:analytics', run);
