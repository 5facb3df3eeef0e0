import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Lower bounds of the response-time buckets after the first, as response-time-histogram.ts had
 * them when this migration was written (frozen here: a migration must not change with the code).
 */
const BUCKET_LOWER_BOUNDS =
  '{2,3,4,5,6,7,8,9,10,11,13,15,17,19,21,23,26,31,36,41,46,51,61,71,81,91,101,121,141,161,181,' +
  '201,221,251,301,351,401,451,501,601,701,801,901,1001,1201,1401,1601,1801,2001,2201,2501,3001,' +
  '3501,4001,4501,5001,6001,7001,8001,9001,10001,12001,14001,16001,18001,20001,25001,30001,35001,' +
  '40001,50001,60001}';
const BUCKETS = 73;

/**
 * Analytics that tell the truth (issue 13 item 4, issue 15 items 2, 5, 8, 9):
 * - `session_id` held the request id: it is named `request_id`;
 * - test-number verifications were counted as real ones: their events get `test_` statuses;
 *   expiries of suppressed verifications (never sent) were counted as expired codes: removed;
 * - the failures index also covers wrong codes, refusals and security incidents;
 * - rollups gain a `detail` (the refusing layer, else the channel: rate limits per layer, Verify
 *   sends apart); their seven coarse response-time buckets give way to a fine histogram per hour,
 *   country and purpose in a table of its own (sms_response_time_rollups), so the rollups the
 *   other reports scan stay narrow.
 * The rollups are derived data, so they are rebuilt from the events (two passes over sms_events;
 * rollup hours whose events retention had already partly deleted lose those events).
 * Part of ANALYTICS_MIGRATIONS: it touches analytics tables only.
 */
export class AnalyticsOutcomes1764072860000 implements MigrationInterface {
  name = 'AnalyticsOutcomes1764072860000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`ALTER TABLE "sms_events" RENAME COLUMN "session_id" TO "request_id"`);
    await queryRunner.query(
      `UPDATE "sms_events" SET "status" = 'test_' || "status"
        WHERE "channel" = 'test-number' AND "status" IN ('sent', 'verified', 'expired')`,
    );
    await queryRunner.query(
      `DELETE FROM "sms_events" WHERE "channel" = 'suppressed' AND "status" = 'expired'`,
    );
    await queryRunner.query(`DROP INDEX "idx_sms_events_failures"`);
    await queryRunner.query(
      `CREATE INDEX "idx_sms_events_failures" ON "sms_events" ("occurred_at") WHERE "status" IN ('failed', 'undelivered', 'wrong_code', 'refused', 'security')`,
    );

    await queryRunner.query(
      `ALTER TABLE "sms_event_rollups" DROP CONSTRAINT "PK_sms_event_rollups"`,
    );
    await queryRunner.query(`DELETE FROM "sms_event_rollups"`);
    await queryRunner.query(`
      ALTER TABLE "sms_event_rollups"
        DROP COLUMN "rt_le_100", DROP COLUMN "rt_le_250", DROP COLUMN "rt_le_500",
        DROP COLUMN "rt_le_1000", DROP COLUMN "rt_le_2000", DROP COLUMN "rt_le_5000",
        DROP COLUMN "rt_gt_5000",
        ADD "detail" varchar(32) NOT NULL DEFAULT '-'`);
    await queryRunner.query(`
      INSERT INTO "sms_event_rollups"
        (bucket, country_code, purpose, status, detail, events, cost, estimated_cost_events,
         response_count, response_ms_sum)
      SELECT date_trunc('hour', occurred_at, 'UTC'), COALESCE(country_code, '--'), COALESCE(purpose, '-'),
             status, COALESCE(layer, channel, '-'), count(*), COALESCE(sum(cost), 0),
             count(*) FILTER (WHERE cost_source = 'estimate'), count(response_time_ms),
             COALESCE(sum(response_time_ms), 0)
        FROM "sms_events"
       GROUP BY 1, 2, 3, 4, 5`);
    await queryRunner.query(
      `ALTER TABLE "sms_event_rollups" ADD CONSTRAINT "PK_sms_event_rollups" PRIMARY KEY ("bucket", "country_code", "purpose", "status", "detail")`,
    );

    await queryRunner.query(`
      CREATE TABLE "sms_response_time_rollups" (
        "bucket" timestamptz NOT NULL,
        "country_code" char(2) NOT NULL,
        "purpose" varchar(20) NOT NULL,
        "responses" integer NOT NULL DEFAULT 0,
        "rt_histogram" integer[] NOT NULL DEFAULT '{}',
        CONSTRAINT "PK_sms_response_time_rollups" PRIMARY KEY ("bucket", "country_code", "purpose")
      )`);
    const histogram = Array.from(
      { length: BUCKETS },
      (_, index) => `count(*) FILTER (WHERE rt_bucket = ${index})`,
    ).join(', ');
    await queryRunner.query(`
      INSERT INTO "sms_response_time_rollups" (bucket, country_code, purpose, responses, rt_histogram)
      SELECT date_trunc('hour', occurred_at, 'UTC'), COALESCE(country_code, '--'), COALESCE(purpose, '-'),
             count(*), ARRAY[${histogram}]::integer[]
        FROM (SELECT occurred_at, country_code, purpose,
                     width_bucket(response_time_ms, '${BUCKET_LOWER_BOUNDS}'::integer[]) AS rt_bucket
                FROM "sms_events" WHERE response_time_ms IS NOT NULL) AS event
       GROUP BY 1, 2, 3`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    // The coarse buckets come back empty; the relabelled and removed events stay as they are.
    await queryRunner.query(`DROP TABLE "sms_response_time_rollups"`);
    await queryRunner.query(
      `ALTER TABLE "sms_event_rollups" DROP CONSTRAINT "PK_sms_event_rollups"`,
    );
    await queryRunner.query(`DELETE FROM "sms_event_rollups" WHERE "detail" <> '-'`);
    await queryRunner.query(`
      ALTER TABLE "sms_event_rollups"
        DROP COLUMN "detail",
        ADD "rt_le_100" integer NOT NULL DEFAULT 0, ADD "rt_le_250" integer NOT NULL DEFAULT 0,
        ADD "rt_le_500" integer NOT NULL DEFAULT 0, ADD "rt_le_1000" integer NOT NULL DEFAULT 0,
        ADD "rt_le_2000" integer NOT NULL DEFAULT 0, ADD "rt_le_5000" integer NOT NULL DEFAULT 0,
        ADD "rt_gt_5000" integer NOT NULL DEFAULT 0`);
    await queryRunner.query(
      `ALTER TABLE "sms_event_rollups" ADD CONSTRAINT "PK_sms_event_rollups" PRIMARY KEY ("bucket", "country_code", "purpose", "status")`,
    );
    await queryRunner.query(`DROP INDEX "idx_sms_events_failures"`);
    await queryRunner.query(
      `CREATE INDEX "idx_sms_events_failures" ON "sms_events" ("occurred_at") WHERE "status" IN ('failed', 'undelivered')`,
    );
    await queryRunner.query(`ALTER TABLE "sms_events" RENAME COLUMN "request_id" TO "session_id"`);
  }
}
