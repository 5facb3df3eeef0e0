import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { DataSource, getMetadataArgsStorage } from 'typeorm';
import { Sql } from '../../src/database/sql';
import { TestApp, startTestApp } from '../support/test-app';

describe('Foundation (HTTP on PostgreSQL and Redis)', () => {
  let service: TestApp;

  beforeAll(async () => {
    service = await startTestApp({
      env: { CORS_ORIGINS: 'https://app.example.com', DATABASE_POOL_SIZE: '10' },
    });
  });
  afterAll(() => service.close());

  it('answers liveness', async () => {
    const response = await service.http().get('/health').expect(200);
    expect(response.body).toEqual({ status: 'ok' });
  });

  it('reports PostgreSQL and Redis up when both answer', async () => {
    const response = await service.http().get('/health/ready').expect(200);
    expect(response.body.details).toMatchObject({
      database: { status: 'up' },
      redis: { status: 'up' },
    });
  });

  it('serves Swagger UI and the OpenAPI document', async () => {
    const ui = await service.http().get('/docs').expect(200);
    expect(ui.text).toContain('swagger-ui');
    const document = await service.http().get('/docs-json').expect(200);
    expect(document.body.openapi).toMatch(/^3\./);
    expect(Object.keys(document.body.paths)).toEqual(
      expect.arrayContaining(['/health', '/health/ready']),
    );
  });

  it('answers malformed JSON with 400 in the error envelope', async () => {
    const response = await service
      .http()
      .post('/phone/validate')
      .set('Content-Type', 'application/json')
      .send('{"phoneNumber": ')
      .expect(400);
    expect(response.body).toEqual({
      success: false,
      message: 'The request body is not valid JSON.',
      error: 'BAD_REQUEST',
    });
  });

  it('answers an oversized body with 413 in the error envelope', async () => {
    const response = await service
      .http()
      .post('/phone/validate')
      .set('Content-Type', 'application/json')
      .send(JSON.stringify({ padding: 'x'.repeat(20_000) }))
      .expect(413);
    expect(response.body).toMatchObject({ success: false, error: 'PAYLOAD_TOO_LARGE' });
  });

  it('answers unknown routes with 404 in the error envelope', async () => {
    const response = await service.http().get('/no/such/route').expect(404);
    expect(response.body).toMatchObject({ success: false, error: 'NOT_FOUND' });
  });

  it('sends security headers and no x-powered-by', async () => {
    const response = await service.http().get('/health').expect(200);
    expect(response.headers['x-content-type-options']).toBe('nosniff');
    expect(response.headers['content-security-policy']).toContain("default-src 'self'");
    expect(response.headers['x-powered-by']).toBeUndefined();
  });

  it('gives every response a request id, reusing a well-formed incoming one', async () => {
    const fresh = await service.http().get('/health').expect(200);
    expect(fresh.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
    const reused = await service
      .http()
      .get('/health')
      .set('X-Request-Id', 'gateway-req-12345')
      .expect(200);
    expect(reused.headers['x-request-id']).toBe('gateway-req-12345');
    const refused = await service
      .http()
      .get('/health')
      .set('X-Request-Id', 'bad id <script>')
      .expect(200);
    expect(refused.headers['x-request-id']).not.toContain('script');
  });

  it('allows CORS only for CORS_ORIGINS', async () => {
    const allowed = await service.http().get('/health').set('Origin', 'https://app.example.com');
    expect(allowed.headers['access-control-allow-origin']).toBe('https://app.example.com');
    const other = await service.http().get('/health').set('Origin', 'https://evil.example.net');
    expect(other.headers['access-control-allow-origin']).toBeUndefined();
  });

  it("registers every module's entities (each *.entity.ts file)", async () => {
    const source = join(__dirname, '..', '..', 'src');
    const files = readdirSync(source, { recursive: true, encoding: 'utf8' }).filter((file) =>
      file.endsWith('.entity.ts'),
    );
    const declared = files.flatMap((file) =>
      Object.values(jest.requireActual<Record<string, unknown>>(join(source, file))),
    );
    const tables = getMetadataArgsStorage()
      .tables.filter((table) => declared.includes(table.target))
      .map((table) => table.name);
    const registered = service.app
      .get(DataSource)
      .entityMetadatas.map((entity) => entity.tableName);
    expect(tables.length).toBeGreaterThan(10);
    expect([...registered].sort()).toEqual([...tables].sort());
  });

  it('holds one pool of connections, shared by the repositories and TypeORM', async () => {
    const poolSize = 10;
    // More statements at once than the pool has connections, half through each.
    await Promise.all(
      Array.from({ length: poolSize * 2 }, (_, index) =>
        index % 2 === 0
          ? service.app.get(DataSource).query('SELECT pg_sleep(0.05)')
          : service.app.get(Sql).rows('SELECT pg_sleep(0.05)'),
      ),
    );
    const [{ connections }] = await service.app.get(Sql).rows<{ connections: number }>(
      `SELECT count(*)::integer AS connections FROM pg_stat_activity
       WHERE datname = current_database() AND application_name = 'sms-verification'`,
    );
    expect(connections).toBeGreaterThan(1);
    expect(connections).toBeLessThanOrEqual(poolSize);
  });

  it('has a schema that matches the entities (no pending migration)', async () => {
    const dataSource = service.app.get(DataSource);
    const pending = await dataSource.driver.createSchemaBuilder().log();
    expect(pending.upQueries.map((query) => query.query)).toEqual([]);
  });
});

describe('Readiness with Redis unreachable', () => {
  let service: TestApp;

  beforeAll(async () => {
    service = await startTestApp({ env: { REDIS_URL: 'redis://127.0.0.1:1' } });
  });
  afterAll(() => service.close());

  it('reports Redis down with 503 and keeps serving', async () => {
    const response = await service.http().get('/health/ready').expect(503);
    expect(response.body.details).toMatchObject({
      database: { status: 'up' },
      redis: { status: 'down' },
    });
    await service.http().get('/health').expect(200);
  });
});
