import { DynamicModule, Logger, Module } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { TypeOrmModule } from '@nestjs/typeorm';
import { DataSource, DataSourceOptions } from 'typeorm';
import { Configuration } from '../config/configuration';
import { EmbeddedDatabaseService } from './embedded-database.service';
import { Sql } from './sql';
import { typeOrmOptions } from './typeorm-options';

@Module({ providers: [EmbeddedDatabaseService], exports: [EmbeddedDatabaseService] })
class EmbeddedDatabaseModule {}

@Module({})
export class DatabaseModule {
  static forRoot(): DynamicModule {
    return {
      module: DatabaseModule,
      global: true,
      providers: [Sql],
      exports: [Sql],
      imports: [
        TypeOrmModule.forRootAsync({
          imports: [EmbeddedDatabaseModule],
          inject: [ConfigService, EmbeddedDatabaseService],
          useFactory: async (
            config: ConfigService<Configuration, true>,
            embedded: EmbeddedDatabaseService,
          ) => {
            const database = config.get('database', { infer: true });
            if (database.url)
              return {
                ...typeOrmOptions(database),
                autoLoadEntities: true,
                retryAttempts: 3,
                retryDelay: 1000,
              };
            new Logger('DatabaseModule').warn(
              'DATABASE_URL is not set: using the embedded database (development only)',
            );
            return {
              ...typeOrmOptions(database, await embedded.start()),
              autoLoadEntities: true,
              retryAttempts: 0,
            };
          },
          dataSourceFactory: (options?: DataSourceOptions) => new DataSource(options!).initialize(),
        }),
      ],
    };
  }
}
