import { ConfigService } from '@nestjs/config';
import { AnalyticsDatabase } from '../../src/analytics/analytics-database';
import { Configuration } from '../../src/config/configuration';
import { loadConfiguration } from '../../src/config/load-configuration';
import { Sql } from '../../src/database/sql';
import { createDatabasePool, endPool, poolConfig } from '../../src/database/database-pool';
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
  const pool = createDatabasePool(poolConfig(configuration.database));
  const sql = new Sql(pool, database.url);
  const config = {
    get: (key: keyof Configuration) => configuration[key],
  } as unknown as ConfigService<Configuration, true>;
  return {
    sql,
    analytics: new AnalyticsDatabase(sql, config),
    async close() {
      await endPool(pool);
      await dropTestDatabase(database.name);
    },
  };
}
