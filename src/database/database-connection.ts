import { Injectable, Logger, OnApplicationShutdown } from '@nestjs/common';
import { ModuleRef } from '@nestjs/core';
import { ConfigService } from '@nestjs/config';
import type { Pool } from 'pg';
import { DataSource } from 'typeorm';
import { Configuration } from '../config/configuration';
import { createDatabasePool, endPool, poolConfig } from './database-pool';
import { EmbeddedPostgres } from './embedded-postgres';

/**
 * Opens the service's database: the pool to DATABASE_URL, or, when it is unset, the embedded
 * database started first. Closes them in order at shutdown: TypeORM's DataSource, the pool, then
 * the embedded database.
 */
@Injectable()
export class DatabaseConnection implements OnApplicationShutdown {
  private pool?: Pool;
  private embedded?: EmbeddedPostgres;

  constructor(
    private readonly config: ConfigService<Configuration, true>,
    private readonly moduleRef: ModuleRef,
  ) {}

  async open(): Promise<Pool> {
    const database = this.config.get('database', { infer: true });
    if (database.url) {
      this.pool = createDatabasePool(poolConfig(database));
      return this.pool;
    }
    new Logger('DatabaseModule').warn(
      'DATABASE_URL is not set: using the embedded database (development only)',
    );
    this.embedded = new EmbeddedPostgres(database.dataDir);
    this.pool = createDatabasePool(poolConfig(database, await this.embedded.start()));
    return this.pool;
  }

  async onApplicationShutdown(): Promise<void> {
    const dataSource = this.moduleRef.get(DataSource, { strict: false });
    if (dataSource.isInitialized) await dataSource.destroy();
    if (this.pool) await endPool(this.pool);
    await this.embedded?.stop();
  }
}
