import { DataSource } from 'typeorm';
import { loadConfiguration } from '../../src/config/load-configuration';
import { Sql } from '../../src/database/sql';
import { typeOrmOptions } from '../../src/database/typeorm-options';
import { createTestDatabase, dropTestDatabase } from './databases';

/** A cloned, migrated test database for one repository test file, without the app or HTTP. */
export interface RepositoryDatabase {
  sql: Sql;
  close(): Promise<void>;
}

export async function openRepositoryDatabase(): Promise<RepositoryDatabase> {
  const database = await createTestDatabase();
  const configuration = loadConfiguration({ NODE_ENV: 'test', DATABASE_URL: database.url });
  const dataSource = await new DataSource({
    ...typeOrmOptions(configuration.database),
    migrationsRun: false,
  }).initialize();
  return {
    sql: new Sql(dataSource),
    async close() {
      await dataSource.destroy();
      await dropTestDatabase(database.name);
    },
  };
}
