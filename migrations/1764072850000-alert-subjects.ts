import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * An alert rule may watch several things at once (each pumping hold is its own alert): `subject`
 * names which, '' for the rules that watch the whole service. One open alert per rule and subject.
 */
export class AlertSubjects1764072850000 implements MigrationInterface {
  name = 'AlertSubjects1764072850000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(
      `ALTER TABLE "sms_alerts" ADD "subject" varchar(64) NOT NULL DEFAULT ''`,
    );
    await queryRunner.query(`DROP INDEX "uq_sms_alerts_open"`);
    await queryRunner.query(
      `CREATE UNIQUE INDEX "uq_sms_alerts_open" ON "sms_alerts" ("rule", "subject") WHERE "resolved_at" IS NULL`,
    );
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP INDEX "uq_sms_alerts_open"`);
    await queryRunner.query(`DELETE FROM "sms_alerts" WHERE "subject" <> ''`);
    await queryRunner.query(
      `CREATE UNIQUE INDEX "uq_sms_alerts_open" ON "sms_alerts" ("rule") WHERE "resolved_at" IS NULL`,
    );
    await queryRunner.query(`ALTER TABLE "sms_alerts" DROP COLUMN "subject"`);
  }
}
