import { MigrationInterface, QueryRunner } from 'typeorm';

export class CreatePumpingHoldsAndSpend1764072200000 implements MigrationInterface {
  name = 'CreatePumpingHoldsAndSpend1764072200000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`ALTER TABLE "sms_verifications" ADD "phone_prefix_hash" varchar(64)`);
    await queryRunner.query(
      `CREATE INDEX "idx_verifications_country_created" ON "sms_verifications" ("country_code", "created_at")`,
    );
    await queryRunner.query(
      `CREATE INDEX "idx_verifications_prefix_created" ON "sms_verifications" ("phone_prefix_hash", "created_at")`,
    );
    await queryRunner.query(`
      CREATE TABLE "sms_holds" (
        "id" uuid NOT NULL DEFAULT gen_random_uuid(),
        "scope" varchar(10) NOT NULL,
        "scope_key" varchar(64) NOT NULL,
        "label" varchar(32) NOT NULL,
        "mode" varchar(10) NOT NULL,
        "sends" integer NOT NULL,
        "verified" integer NOT NULL,
        "created_at" timestamptz NOT NULL DEFAULT now(),
        "expires_at" timestamptz NOT NULL,
        "lifted_at" timestamptz,
        CONSTRAINT "PK_sms_holds" PRIMARY KEY ("id")
      )`);
    await queryRunner.query(
      `CREATE UNIQUE INDEX "uq_sms_holds_active" ON "sms_holds" ("scope", "scope_key") WHERE "lifted_at" IS NULL`,
    );
    await queryRunner.query(`
      CREATE TABLE "sms_daily_spend" (
        "day" date NOT NULL,
        "currency" varchar(3) NOT NULL,
        "amount" numeric(14,6) NOT NULL DEFAULT 0,
        "updated_at" timestamptz NOT NULL,
        CONSTRAINT "PK_sms_daily_spend" PRIMARY KEY ("day")
      )`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP TABLE "sms_daily_spend"`);
    await queryRunner.query(`DROP TABLE "sms_holds"`);
    await queryRunner.query(`DROP INDEX "idx_verifications_prefix_created"`);
    await queryRunner.query(`DROP INDEX "idx_verifications_country_created"`);
    await queryRunner.query(`ALTER TABLE "sms_verifications" DROP COLUMN "phone_prefix_hash"`);
  }
}
