import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * A verification row is updated several times in its short life (provider sids, every code
 * check's attempt count, approval, token use). With full pages an update cannot stay on its page
 * and writes a new entry into each of the table's seven indexes; with room left on the page, an
 * update that changes no indexed column (the attempt count, the sids) is a heap-only tuple
 * update: no index is touched. New pages leave a quarter free; existing pages are not rewritten
 * (that would lock the table), they gain room as rows are deleted by the retention job.
 */
export class VerificationFillfactor1764072700000 implements MigrationInterface {
  name = 'VerificationFillfactor1764072700000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`ALTER TABLE "sms_verifications" SET (fillfactor = 75)`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`ALTER TABLE "sms_verifications" RESET (fillfactor)`);
  }
}
