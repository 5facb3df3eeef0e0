import { MigrationInterface, QueryRunner } from 'typeorm';

export class CreateSmsSuppressions1764072400000 implements MigrationInterface {
  name = 'CreateSmsSuppressions1764072400000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      CREATE TABLE "sms_suppressions" (
        "phone_hash" varchar(64) NOT NULL,
        "error_code" varchar(16) NOT NULL,
        "created_at" timestamptz NOT NULL,
        "expires_at" timestamptz NOT NULL,
        CONSTRAINT "PK_sms_suppressions" PRIMARY KEY ("phone_hash")
      )`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP TABLE "sms_suppressions"`);
  }
}
