import { Injectable, OnApplicationShutdown } from '@nestjs/common';
import { ModuleRef } from '@nestjs/core';
import { ConfigService } from '@nestjs/config';
import { DataSource } from 'typeorm';
import { Configuration } from '../config/configuration';
import { EmbeddedConnection, EmbeddedPostgres } from './embedded-postgres';

/**
 * Owns the embedded database's lifetime when DATABASE_URL is unset: started before TypeORM
 * connects, stopped only after TypeORM's pool has closed.
 */
@Injectable()
export class EmbeddedDatabaseService implements OnApplicationShutdown {
  private embedded?: EmbeddedPostgres;

  constructor(
    private readonly config: ConfigService<Configuration, true>,
    private readonly moduleRef: ModuleRef,
  ) {}

  async start(): Promise<EmbeddedConnection> {
    this.embedded = new EmbeddedPostgres(this.config.get('database', { infer: true }).dataDir);
    return this.embedded.start();
  }

  async onApplicationShutdown(): Promise<void> {
    if (!this.embedded) return;
    const dataSource = this.moduleRef.get(DataSource, { strict: false });
    if (dataSource.isInitialized) await dataSource.destroy();
    await this.embedded.stop();
  }
}
