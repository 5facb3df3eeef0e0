import { NestFastifyApplication } from '@nestjs/platform-fastify';
import { Test, TestingModuleBuilder } from '@nestjs/testing';
import Redis from 'ioredis';
import { randomBytes } from 'node:crypto';
import { Writable } from 'node:stream';
import supertest from 'supertest';
import { AppModule } from '../../src/app.module';
import { configureApp, createFastifyAdapter } from '../../src/app.setup';
import { Configuration } from '../../src/config/configuration';
import { loadConfiguration } from '../../src/config/load-configuration';
import { createRootLogger } from '../../src/logging/logger';
import { PinoNestLogger } from '../../src/logging/pino-nest-logger';
import { DeliveryFilters } from '../../src/sms/delivery-filters';
import { createTestDatabase, dropTestDatabase } from './databases';
import { DeliveryFiltersWithout } from './delivery-filters';
import { TEST_REDIS_URL } from './test-environment';

export interface TestAppOptions {
  /** Environment variables on top of the test defaults (real PostgreSQL and Redis). */
  env?: Record<string, string | undefined>;
  /** Reuse a database (e.g. a second instance of the same service); otherwise a fresh clone. */
  databaseUrl?: string;
  /** Reuse a Redis key prefix (a second instance sharing limits); otherwise a fresh one. */
  redisKeyPrefix?: string;
  /**
   * Deliver codes whether or not the number has an account (see delivery-filters.ts); for suites
   * that test SMS mechanics rather than auth.
   */
  skipAccountFilter?: boolean;
  /** Swap providers, e.g. the clock. */
  override?: (builder: TestingModuleBuilder) => TestingModuleBuilder;
}

export interface TestApp {
  app: NestFastifyApplication;
  configuration: Configuration;
  /** Every log line the app wrote, as parsed JSON objects. */
  logs: Record<string, unknown>[];
  databaseUrl?: string;
  redisKeyPrefix: string;
  http(): supertest.Agent;
  close(): Promise<void>;
}

export const TEST_HASH_SECRET = 'test-hash-secret-0123456789abcdef0123456789';

/** Boots the real application the way main.ts does, against real PostgreSQL and Redis. */
export async function startTestApp(options: TestAppOptions = {}): Promise<TestApp> {
  const ownsDatabase = options.databaseUrl === undefined && options.env?.DATABASE_URL === undefined;
  const database = ownsDatabase ? await createTestDatabase() : undefined;
  const redisKeyPrefix = options.redisKeyPrefix ?? `test:${randomBytes(6).toString('hex')}:`;
  const configuration = loadConfiguration({
    NODE_ENV: 'test',
    LOG_LEVEL: 'info',
    HASH_SECRET: TEST_HASH_SECRET,
    DATABASE_URL: database?.url ?? options.databaseUrl,
    DATABASE_MIGRATIONS_RUN: 'false',
    REDIS_URL: TEST_REDIS_URL,
    REDIS_KEY_PREFIX: redisKeyPrefix,
    ...options.env,
  });

  const logs: Record<string, unknown>[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString('utf8').split('\n')) {
        if (line.trim()) logs.push(JSON.parse(line) as Record<string, unknown>);
      }
      done();
    },
  });
  const logger = createRootLogger(configuration.app, sink);

  let builder = Test.createTestingModule({ imports: [AppModule.register(configuration)] });
  if (options.skipAccountFilter) {
    builder = builder
      .overrideProvider(DeliveryFilters)
      .useValue(new DeliveryFiltersWithout(['account']));
  }
  if (options.override) builder = options.override(builder);
  const moduleRef = await builder.setLogger(new PinoNestLogger(logger)).compile();
  const app = moduleRef.createNestApplication<NestFastifyApplication>(
    createFastifyAdapter(configuration, logger),
    { logger: new PinoNestLogger(logger) },
  );
  await configureApp(app, configuration);
  await app.init();
  await app.getHttpAdapter().getInstance().ready();

  let closed = false;
  return {
    app,
    configuration,
    logs,
    databaseUrl: database?.url ?? options.databaseUrl,
    redisKeyPrefix,
    http: () => supertest.agent(app.getHttpServer()),
    async close() {
      if (closed) return;
      closed = true;
      await app.close();
      if (database) await dropTestDatabase(database.name);
      if (options.redisKeyPrefix === undefined && configuration.redis.url) {
        await deleteRedisKeys(configuration.redis.url, redisKeyPrefix);
      }
    },
  };
}

export async function deleteRedisKeys(url: string, prefix: string): Promise<void> {
  const redis = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 1 });
  try {
    await redis.connect();
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 500);
      if (keys.length > 0) await redis.del(...keys);
      cursor = next;
    } while (cursor !== '0');
  } catch {
    // Redis may be down on purpose in resilience tests; the keys expire on their own.
  } finally {
    redis.disconnect();
  }
}
