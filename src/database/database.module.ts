import { DynamicModule, Module } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { TypeOrmModule } from '@nestjs/typeorm';
import { Pool } from 'pg';
import { DataSource, DataSourceOptions } from 'typeorm';
import { Configuration } from '../config/configuration';
import { DatabaseConnection } from './database-connection';
import { Sql } from './sql';
import { typeOrmOptions } from './typeorm-options';

/** The one pg pool (the `Pool` provider), opened by DatabaseConnection. */
@Module({
  providers: [
    DatabaseConnection,
    {
      provide: Pool,
      inject: [DatabaseConnection],
      useFactory: (connection: DatabaseConnection) => connection.open(),
    },
  ],
  exports: [Pool],
})
class DatabasePoolModule {}

/**
 * The service's database: its pool, `Sql` over it for the repositories, and TypeORM on the same
 * pool for migrations (run at boot unless DATABASE_MIGRATIONS_RUN is off) and the entities.
 */
@Module({})
export class DatabaseModule {
  static forRoot(): DynamicModule {
    return {
      module: DatabaseModule,
      global: true,
      imports: [
        DatabasePoolModule,
        TypeOrmModule.forRootAsync({
          imports: [DatabasePoolModule],
          inject: [ConfigService, Pool],
          useFactory: (config: ConfigService<Configuration, true>, pool: Pool) => {
            const database = config.get('database', { infer: true });
            return {
              ...typeOrmOptions(database, pool),
              autoLoadEntities: true,
              // A server that is still starting gets a few seconds; the embedded one is there.
              retryAttempts: database.url ? 3 : 0,
              retryDelay: 1000,
            };
          },
          dataSourceFactory: (options?: DataSourceOptions) => new DataSource(options!).initialize(),
        }),
      ],
      providers: [
        {
          provide: Sql,
          inject: [Pool, ConfigService],
          useFactory: (pool: Pool, config: ConfigService<Configuration, true>) =>
            new Sql(pool, config.get('database', { infer: true }).url),
        },
      ],
      exports: [Sql, DatabasePoolModule],
    };
  }
}
