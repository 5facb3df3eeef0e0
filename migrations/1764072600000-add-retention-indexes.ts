import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * What the retention job's deletes search by. Built CONCURRENTLY (hence outside a transaction)
 * because refresh_tokens is large by the time this runs and logins must not wait for the build.
 */
export class AddRetentionIndexes1764072600000 implements MigrationInterface {
  name = 'AddRetentionIndexes1764072600000';
  transaction = false;

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(
      `CREATE INDEX CONCURRENTLY IF NOT EXISTS "idx_refresh_tokens_expires" ON "refresh_tokens" ("expires_at")`,
    );
    await queryRunner.query(
      `CREATE INDEX CONCURRENTLY IF NOT EXISTS "idx_refresh_tokens_revoked" ON "refresh_tokens" ("revoked_at") WHERE "revoked_at" IS NOT NULL`,
    );
    await queryRunner.query(
      `CREATE INDEX CONCURRENTLY IF NOT EXISTS "idx_sms_suppressions_expires" ON "sms_suppressions" ("expires_at")`,
    );
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP INDEX CONCURRENTLY IF EXISTS "idx_sms_suppressions_expires"`);
    await queryRunner.query(`DROP INDEX CONCURRENTLY IF EXISTS "idx_refresh_tokens_revoked"`);
    await queryRunner.query(`DROP INDEX CONCURRENTLY IF EXISTS "idx_refresh_tokens_expires"`);
  }
}
