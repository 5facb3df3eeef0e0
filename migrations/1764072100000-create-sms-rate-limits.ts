import { MigrationInterface, QueryRunner } from 'typeorm';

export class CreateSmsRateLimits1764072100000 implements MigrationInterface {
  name = 'CreateSmsRateLimits1764072100000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      CREATE TABLE "sms_rate_limits" (
        "id" uuid NOT NULL DEFAULT gen_random_uuid(),
        "identifier" varchar(64) NOT NULL,
        "limit_type" varchar(32) NOT NULL,
        "count" integer NOT NULL DEFAULT 0,
        "window_start" timestamptz,
        "hits" bigint[] NOT NULL,
        "members" text[] NOT NULL,
        "expires_at" timestamptz NOT NULL,
        CONSTRAINT "PK_sms_rate_limits" PRIMARY KEY ("id")
      )`);
    await queryRunner.query(
      `CREATE UNIQUE INDEX "uq_sms_rate_limits_identifier" ON "sms_rate_limits" ("identifier")`,
    );
    await queryRunner.query(
      `CREATE INDEX "idx_sms_rate_limits_expires_at" ON "sms_rate_limits" ("expires_at")`,
    );
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP TABLE "sms_rate_limits"`);
  }
}
