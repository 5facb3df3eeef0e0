import { Injectable, Module } from '@nestjs/common';

/**
 * How long a purge's rows are kept once they are over, which sets the cutoff it gets:
 * `verification` is SMS_VERIFICATION_RETENTION_DAYS, `analytics` ANALYTICS_RETENTION_DAYS, and
 * `{ days }` a period the owning module fixes itself (`{ days: 0 }`: gone once expired).
 */
export type RetentionPeriod = 'verification' | 'analytics' | { days: number };

/** One kind of row a module deletes once it is past its retention. */
export interface RetentionPurge {
  /** The table it deletes from: its key in a run's report (several purges may share one). */
  readonly table: string;
  /**
   * Where the table lives. The main database's tables are purged first: the request path writes
   * them.
   */
  readonly database: 'main' | 'analytics';
  readonly keptFor: RetentionPeriod;
  /**
   * Deletes up to `limit` rows that were over before `cutoff` (now minus `keptFor`) and says how
   * many; fewer than `limit` means none is left. One short statement (database/batch-delete.ts).
   */
  deleteBatch(limit: number, cutoff: Date): Promise<number>;
}

/**
 * The purges of every module, each registered by the module that owns the table (in its
 * onModuleInit), so retention knows no feature module. A registry rather than one injection token
 * for them all: Nest has no multi-providers (a token has one value, which no other module can add
 * to), and registering at init is how the SMS module's delivery filters and number history are
 * told of other modules already. Every onModuleInit runs before the first retention run (at
 * application bootstrap).
 */
@Injectable()
export class RetentionPurges {
  private readonly purges: RetentionPurge[] = [];

  register(...purges: RetentionPurge[]): void {
    this.purges.push(...purges);
  }

  /** Every purge, the main database's first, each database's in registration order. */
  inOrder(): RetentionPurge[] {
    return [
      ...this.purges.filter((purge) => purge.database === 'main'),
      ...this.purges.filter((purge) => purge.database === 'analytics'),
    ];
  }
}

/** What a module imports to register its purges: the registry alone, not the scheduled purge. */
@Module({ providers: [RetentionPurges], exports: [RetentionPurges] })
export class RetentionPurgesModule {}
