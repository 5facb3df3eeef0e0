import { Injectable, Logger, OnApplicationShutdown, OnModuleInit } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { Pool } from 'pg';
import { DataSource } from 'typeorm';
import { ANALYTICS_MIGRATIONS } from '../../migrations';
import { dependencyFailureReason } from '../common/errors/dependency-failure';
import { Configuration } from '../config/configuration';
import { Sql } from '../database/sql';

/**
 * Where analytics rows live: the main database, or ANALYTICS_DB_URL with its own pool and its
 * own migrations, so heavy reporting never competes with the send path for connections.
 */
@Injectable()
export class AnalyticsDatabase implements OnModuleInit, OnApplicationShutdown {
  private readonly logger = new Logger('AnalyticsDatabase');
  private pool?: Pool;
  private readonly url?: string;
  private readonly statementTimeoutMs: number;

  constructor(
    private readonly main: Sql,
    config: ConfigService<Configuration, true>,
  ) {
    this.url = config.get('analytics', { infer: true }).databaseUrl;
    this.statementTimeoutMs = config.get('database', { infer: true }).statementTimeoutMs;
  }

  async onModuleInit(): Promise<void> {
    if (!this.url) return;
    const migrator = await new DataSource({
      type: 'postgres',
      url: this.url,
      migrations: ANALYTICS_MIGRATIONS,
      migrationsTableName: 'analytics_migrations',
    }).initialize();
    try {
      await migrator.runMigrations({ transaction: 'each' });
    } finally {
      await migrator.destroy();
    }
    // The main pool's limits (typeorm-options.ts): an unreachable server costs a caller seconds,
    // never a wait without end.
    this.pool = new Pool({
      connectionString: this.url,
      max: 5,
      application_name: 'sms-analytics',
      connectionTimeoutMillis: 3_000,
      idleTimeoutMillis: 30_000,
      statement_timeout: this.statementTimeoutMs,
    });
    // An idle connection the server closed; the pool opens another when needed. Codes only: the
    // message may name the host.
    this.pool.on('error', (error) =>
      this.logger.warn(
        { errorCode: dependencyFailureReason(error) ?? (error as { code?: unknown }).code },
        'idle analytics database connection lost',
      ),
    );
    this.logger.log('Analytics events go to ANALYTICS_DB_URL');
  }

  async rows<T>(text: string, values: unknown[] = []): Promise<T[]> {
    if (!this.pool) return this.main.rows<T>(text, values);
    const result = await this.pool.query(text, values);
    return result.rows as T[];
  }

  /** As rows(), as a named prepared statement (Sql.prepared): for statements run all the time. */
  async prepared<T>(name: string, text: string, values: unknown[]): Promise<T[]> {
    if (!this.pool) return this.main.prepared<T>(name, text, values);
    const result = await this.pool.query({ name, text, values });
    return result.rows as T[];
  }

  async onApplicationShutdown(): Promise<void> {
    await this.pool?.end();
  }
}
