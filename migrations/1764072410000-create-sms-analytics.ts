import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The analytics tables. Part of the main migrations, and the only migration run on
 * ANALYTICS_DB_URL when events live in a database of their own (ANALYTICS_MIGRATIONS).
 */
export class CreateSmsAnalytics1764072410000 implements MigrationInterface {
  name = 'CreateSmsAnalytics1764072410000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      CREATE TABLE "sms_events" (
        "id" uuid NOT NULL DEFAULT gen_random_uuid(),
        "phone_hash" varchar(64),
        "purpose" varchar(20),
        "status" varchar(16) NOT NULL,
        "channel" varchar(20),
        "verification_id" uuid,
        "provider_sid" varchar(64),
        "country_code" char(2),
        "carrier" varchar(100),
        "cost" numeric(12,6),
        "currency" char(3),
        "cost_source" varchar(10),
        "occurred_at" timestamptz NOT NULL,
        "response_time_ms" integer,
        "provider_latency_ms" integer,
        "error_code" varchar(32),
        "error_message" text,
        "user_agent" varchar(256),
        "ip_hash" varchar(64),
        "session_id" varchar(128),
        "encoding" varchar(8),
        "segments" smallint,
        "layer" varchar(32),
        CONSTRAINT "PK_sms_events" PRIMARY KEY ("id")
      )`);
    await queryRunner.query(
      `CREATE INDEX "idx_sms_events_occurred" ON "sms_events" ("occurred_at")`,
    );
    await queryRunner.query(
      `CREATE INDEX "idx_sms_events_provider_sid" ON "sms_events" ("provider_sid")`,
    );
    await queryRunner.query(
      `CREATE INDEX "idx_sms_events_failures" ON "sms_events" ("occurred_at") WHERE "status" IN ('failed', 'undelivered')`,
    );
    await queryRunner.query(`
      CREATE TABLE "sms_event_rollups" (
        "bucket" timestamptz NOT NULL,
        "country_code" char(2) NOT NULL,
        "purpose" varchar(20) NOT NULL,
        "status" varchar(16) NOT NULL,
        "events" integer NOT NULL DEFAULT 0,
        "cost" numeric(14,6) NOT NULL DEFAULT 0,
        "estimated_cost_events" integer NOT NULL DEFAULT 0,
        "response_count" integer NOT NULL DEFAULT 0,
        "response_ms_sum" bigint NOT NULL DEFAULT 0,
        "rt_le_100" integer NOT NULL DEFAULT 0,
        "rt_le_250" integer NOT NULL DEFAULT 0,
        "rt_le_500" integer NOT NULL DEFAULT 0,
        "rt_le_1000" integer NOT NULL DEFAULT 0,
        "rt_le_2000" integer NOT NULL DEFAULT 0,
        "rt_le_5000" integer NOT NULL DEFAULT 0,
        "rt_gt_5000" integer NOT NULL DEFAULT 0,
        CONSTRAINT "PK_sms_event_rollups" PRIMARY KEY ("bucket", "country_code", "purpose", "status")
      )`);
    await queryRunner.query(`
      CREATE TABLE "sms_messages" (
        "sid" varchar(64) NOT NULL,
        "verification_id" uuid,
        "phone_hash" varchar(64) NOT NULL,
        "country_code" char(2) NOT NULL,
        "purpose" varchar(20),
        "status" varchar(16) NOT NULL,
        "status_rank" smallint NOT NULL,
        "error_code" varchar(16),
        "segments" smallint NOT NULL DEFAULT 1,
        "estimated_cost" numeric(12,6),
        "price" numeric(12,6),
        "price_unit" char(3),
        "created_at" timestamptz NOT NULL,
        "updated_at" timestamptz NOT NULL,
        CONSTRAINT "PK_sms_messages" PRIMARY KEY ("sid")
      )`);
    await queryRunner.query(
      `CREATE INDEX "idx_sms_messages_created" ON "sms_messages" ("created_at")`,
    );
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP TABLE "sms_messages"`);
    await queryRunner.query(`DROP TABLE "sms_event_rollups"`);
    await queryRunner.query(`DROP TABLE "sms_events"`);
  }
}
