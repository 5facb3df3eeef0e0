import { MigrationInterface, QueryRunner } from 'typeorm';

export class CreateSmsVerifications1764072000000 implements MigrationInterface {
  name = 'CreateSmsVerifications1764072000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(
      `CREATE TYPE "sms_purpose" AS ENUM ('registration', 'login', 'password_reset', 'two_factor')`,
    );
    await queryRunner.query(
      `CREATE TYPE "sms_verification_status" AS ENUM ('pending', 'verified', 'expired', 'failed')`,
    );
    await queryRunner.query(`
      CREATE TABLE "sms_verifications" (
        "id" uuid NOT NULL DEFAULT gen_random_uuid(),
        "phone_number_hash" varchar(64) NOT NULL,
        "purpose" "sms_purpose" NOT NULL,
        "twilio_sid" varchar(100),
        "message_sid" varchar(64),
        "status" "sms_verification_status" NOT NULL DEFAULT 'pending',
        "channel" varchar(20) NOT NULL,
        "code_hash" varchar(64),
        "locale" varchar(5) NOT NULL,
        "country_code" char(2) NOT NULL,
        "attempts" integer NOT NULL DEFAULT 0,
        "max_attempts" integer NOT NULL DEFAULT 3,
        "send_count" integer NOT NULL DEFAULT 1,
        "last_sent_at" timestamptz NOT NULL,
        "expires_at" timestamptz NOT NULL,
        "verified_at" timestamptz,
        "token_hash" varchar(64),
        "token_expires_at" timestamptz,
        "token_consumed_at" timestamptz,
        "created_at" timestamptz NOT NULL DEFAULT now(),
        "updated_at" timestamptz NOT NULL DEFAULT now(),
        CONSTRAINT "PK_sms_verifications" PRIMARY KEY ("id")
      )`);
    await queryRunner.query(
      `CREATE INDEX "idx_phone_purpose" ON "sms_verifications" ("phone_number_hash", "purpose")`,
    );
    await queryRunner.query(
      `CREATE INDEX "idx_status_expires" ON "sms_verifications" ("status", "expires_at")`,
    );
    await queryRunner.query(
      `CREATE UNIQUE INDEX "uq_sms_verifications_live" ON "sms_verifications" ("phone_number_hash", "purpose") WHERE "status" = 'pending'`,
    );
    await queryRunner.query(
      `CREATE UNIQUE INDEX "uq_sms_verifications_token" ON "sms_verifications" ("token_hash") WHERE "token_hash" IS NOT NULL`,
    );
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP TABLE "sms_verifications"`);
    await queryRunner.query(`DROP TYPE "sms_verification_status"`);
    await queryRunner.query(`DROP TYPE "sms_purpose"`);
  }
}
