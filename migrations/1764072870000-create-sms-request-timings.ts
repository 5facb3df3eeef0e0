import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Per-minute response times of every SMS and auth request (issue 15 item 6): the response-time
 * alert judged only requests that recorded an SMS event. Part of ANALYTICS_MIGRATIONS.
 */
export class CreateSmsRequestTimings1764072870000 implements MigrationInterface {
  name = 'CreateSmsRequestTimings1764072870000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      CREATE TABLE "sms_request_timings" (
        "minute" timestamptz NOT NULL,
        "route" varchar(64) NOT NULL,
        "requests" integer NOT NULL DEFAULT 0,
        "response_ms_sum" bigint NOT NULL DEFAULT 0,
        "rt_histogram" integer[] NOT NULL DEFAULT '{}',
        CONSTRAINT "PK_sms_request_timings" PRIMARY KEY ("minute", "route")
      )`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP TABLE "sms_request_timings"`);
  }
}
