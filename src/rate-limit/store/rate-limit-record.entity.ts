import { Column, Entity, Index, PrimaryGeneratedColumn } from 'typeorm';

/**
 * One rate-limit counter of the PostgreSQL store (docs/PRODUCT.md#storage `sms_rate_limits`, turned
 * into a sliding log). A row is identified by the store key alone, as in Redis and memory, so
 * `reset` by key forgets exactly one counter; SPEC's `purpose` column and its place in the unique
 * key are dropped because the key already carries the purpose when a limit depends on it. Rows are
 * written only by PostgresRateLimitStore, in SQL that locks them.
 */
@Entity('sms_rate_limits')
@Index('uq_sms_rate_limits_identifier', ['identifier'], { unique: true })
@Index('idx_sms_rate_limits_expires_at', ['expiresAt'])
export class RateLimitRecord {
  @PrimaryGeneratedColumn('uuid')
  id: string;

  /** The store key, or the SHA-256 hex of keys longer than 64 characters. */
  @Column({ type: 'varchar', length: 64 })
  identifier: string;

  /** The rule's layer ('phone', 'ip', 'global', …), for operators reading the table. */
  @Column({ name: 'limit_type', type: 'varchar', length: 32 })
  limitType: string;

  /** Window and distinct: hits counted after the last accepted hit. Cooldown: its step. */
  @Column({ type: 'integer', default: 0 })
  count: number;

  /** Window and distinct: the oldest counted hit. Cooldown: the last accepted hit. */
  @Column({ name: 'window_start', type: 'timestamptz', nullable: true })
  windowStart: Date | null;

  /** The sliding log in epoch ms, ascending; a cooldown keeps its last accepted hit. */
  @Column({ type: 'bigint', array: true })
  hits: string[];

  /** Distinct rules: the member of each hit, at the same index as in `hits`. */
  @Column({ type: 'text', array: true })
  members: string[];

  /** When nothing in the row counts any more; PostgresRateLimitStore.removeExpired deletes it. */
  @Column({ name: 'expires_at', type: 'timestamptz' })
  expiresAt: Date;
}
