import { Injectable } from '@nestjs/common';
import { Clock } from '../../../common/clock';
import { BatchedLookup } from '../../../database/batched-lookup';
import { Sql } from '../../../database/sql';
import { batchDelete } from '../../../database/batch-delete';
import { RetentionPurge } from '../../../retention/retention-purges';

const ENDED_SUPPRESSIONS = batchDelete('sms_suppressions', ['phone_hash'], `expires_at <= $2`);

/**
 * `sms_suppressions` (the main database: every send asks): numbers that bounced permanently, for
 * a while. Sends to them answer as usual and deliver nothing.
 */
@Injectable()
export class SmsSuppressionRepository {
  constructor(
    private readonly sql: Sql,
    private readonly clock: Clock,
  ) {}

  /** Suppresses the number until `expiresAt`; a number suppressed before starts over. */
  async suppress(phoneHash: string, errorCode: string, now: Date, expiresAt: Date): Promise<void> {
    await this.sql.rows(
      `INSERT INTO sms_suppressions (phone_hash, error_code, created_at, expires_at)
       VALUES ($1, $2, $3, $4)
       ON CONFLICT (phone_hash) DO UPDATE SET error_code = $2, created_at = $3, expires_at = $4`,
      [phoneHash, errorCode, now, expiresAt],
    );
  }

  /** What retention deletes: suppressions once they have ended (the number is deliverable). */
  retentionPurges(): RetentionPurge[] {
    return [
      {
        table: 'sms_suppressions',
        database: 'main',
        keptFor: { days: 0 },
        deleteBatch: (limit, cutoff) => ENDED_SUPPRESSIONS.run(this.sql, limit, cutoff),
      },
    ];
  }

  /** False while the number is suppressed. Every send asks, so concurrent sends share one query. */
  isDeliverable(phoneHash: string): Promise<boolean> {
    return this.deliverable.get(phoneHash);
  }

  private readonly deliverable = new BatchedLookup<string, boolean>(async (phoneHashes) => {
    const suppressed = await this.sql.rows<{ phone_hash: string }>(
      `SELECT phone_hash FROM sms_suppressions WHERE phone_hash = ANY($1) AND expires_at > $2`,
      [phoneHashes, this.clock.now()],
    );
    return new Map(suppressed.map((row) => [row.phone_hash, false]));
  }, true);
}
