import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The provider's own id of a Twilio Verify verification, apart from the sid answered to the
 * client: code checks name exactly this verification at Twilio (which keeps one pending
 * verification per number, whatever our purpose), and the answered sid stays what it was when a
 * silent verification becomes a delivered one. Rows sent through Verify so far had both in
 * `twilio_sid`. Not indexed: it is read from the row a check has already found.
 */
export class VerificationProviderSid1796390000000 implements MigrationInterface {
  name = 'VerificationProviderSid1796390000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(
      `ALTER TABLE "sms_verifications" ADD "provider_sid" character varying(64)`,
    );
    await queryRunner.query(
      `UPDATE "sms_verifications" SET "provider_sid" = "twilio_sid"
        WHERE "channel" = 'twilio-verify' AND "status" = 'pending'`,
    );
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`ALTER TABLE "sms_verifications" DROP COLUMN "provider_sid"`);
  }
}
