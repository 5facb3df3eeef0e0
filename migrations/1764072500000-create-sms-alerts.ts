import { MigrationInterface, QueryRunner } from 'typeorm';

export class CreateSmsAlerts1764072500000 implements MigrationInterface {
  name = 'CreateSmsAlerts1764072500000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      CREATE TABLE "sms_alerts" (
        "id" uuid NOT NULL DEFAULT gen_random_uuid(),
        "rule" varchar(32) NOT NULL,
        "value" double precision NOT NULL,
        "threshold" double precision NOT NULL,
        "message" text NOT NULL,
        "started_at" timestamptz NOT NULL,
        "updated_at" timestamptz NOT NULL,
        "resolved_at" timestamptz,
        "notified_at" timestamptz,
        CONSTRAINT "PK_sms_alerts" PRIMARY KEY ("id")
      )`);
    await queryRunner.query(
      `CREATE UNIQUE INDEX "uq_sms_alerts_open" ON "sms_alerts" ("rule") WHERE "resolved_at" IS NULL`,
    );
    await queryRunner.query(`CREATE INDEX "idx_sms_alerts_started" ON "sms_alerts" ("started_at")`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP TABLE "sms_alerts"`);
  }
}
