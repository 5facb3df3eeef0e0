import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Pumping holds that start at a number range and widen to a country only when many ranges and
 * many client networks are involved, and that spare numbers with a verified history:
 * - sms_verifications.client_network_hash: HMAC of the sender's network (IPv4 /24, IPv6 /48),
 *   to count how many networks a country's unverified sends came from;
 * - idx_verifications_verified_phone: the approved verifications of a number, looked up on every
 *   send; partial, so it holds verified rows only and stays small enough to stay in memory;
 * - sms_holds.ranges / networks: how wide the traffic was when a country was held.
 * The index is built CONCURRENTLY (hence no transaction): sms_verifications is large and sends
 * must not wait for the build. Adding nullable columns is a catalog change only.
 */
export class PumpingHoldsByScope1764072840000 implements MigrationInterface {
  name = 'PumpingHoldsByScope1764072840000';
  transaction = false;

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(
      `ALTER TABLE "sms_verifications" ADD COLUMN IF NOT EXISTS "client_network_hash" varchar(32)`,
    );
    await queryRunner.query(
      `ALTER TABLE "sms_holds" ADD COLUMN IF NOT EXISTS "ranges" integer, ADD COLUMN IF NOT EXISTS "networks" integer`,
    );
    await queryRunner.query(
      `CREATE INDEX CONCURRENTLY IF NOT EXISTS "idx_verifications_verified_phone" ON "sms_verifications" ("phone_number_hash", "verified_at") WHERE "verified_at" IS NOT NULL`,
    );
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP INDEX CONCURRENTLY IF EXISTS "idx_verifications_verified_phone"`);
    await queryRunner.query(
      `ALTER TABLE "sms_holds" DROP COLUMN IF EXISTS "networks", DROP COLUMN IF EXISTS "ranges"`,
    );
    await queryRunner.query(
      `ALTER TABLE "sms_verifications" DROP COLUMN IF EXISTS "client_network_hash"`,
    );
  }
}
