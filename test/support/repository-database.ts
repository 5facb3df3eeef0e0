import { ConfigService } from '@nestjs/config';
import { DataSource } from 'typeorm';
import { AnalyticsDatabase } from '../../src/analytics/analytics-database';
import { Configuration } from '../../src/config/configuration';
import { loadConfiguration } from '../../src/config/load-configuration';
import { Sql } from '../../src/database/sql';
import { typeOrmOptions } from '../../src/database/typeorm-options';
import { createTestDatabase, dropTestDatabase } from './databases';

/** A cloned, migrated test database for one repository test file, without the app or HTTP. */
export interface RepositoryDatabase {
  sql: Sql;
  /**
   * The analytics database as the service has it without ANALYTICS_DB_URL: the same cloned
   * database, through AnalyticsDatabase (which then hands every statement to `sql`).
   */
  analytics: AnalyticsDatabase;
  close(): Promise<void>;
}

export async function openRepositoryDatabase(): Promise<RepositoryDatabase> {
  const database = await createTestDatabase();
  const configuration = loadConfiguration({ NODE_ENV: 'test', DATABASE_URL: database.url });
  const dataSource = await new DataSource({
    ...typeOrmOptions(configuration.database),
    migrationsRun: false,
  }).initialize();
  const sql = new Sql(dataSource);
  const config = {
    get: (key: keyof Configuration) => configuration[key],
  } as unknown as ConfigService<Configuration, true>;
  return {
    sql,
    analytics: new AnalyticsDatabase(sql, config),
    async close() {
      await dataSource.destroy();
      await dropTestDatabase(database.name);
    },
  };
}
