import { RELAXED_LIMITS } from '../support/relaxed-limits';
import { TestApp, startTestApp } from '../support/test-app';

interface Operation {
  security?: Record<string, string[]>[];
  requestBody?: {
    content: Record<string, { examples?: Record<string, { value: Record<string, unknown> }> }>;
  };
  responses: Record<string, { content?: Record<string, { schema: { $ref?: string } }> }>;
}

interface OpenApiDocument {
  paths: Record<string, Record<string, Operation>>;
  components: {
    schemas: Record<string, { properties: Record<string, { example?: unknown }> }>;
    securitySchemes: Record<string, Record<string, unknown>>;
  };
}

const PUBLIC_OPERATIONS = [
  ['post', '/auth/register'],
  ['post', '/auth/login'],
  ['post', '/auth/login/2fa'],
  ['post', '/auth/login-sms'],
  ['post', '/auth/reset-password-sms'],
  ['post', '/auth/refresh'],
  ['post', '/auth/logout'],
] as const;

const PROTECTED_OPERATIONS = [
  ['get', '/auth/me'],
  ['post', '/auth/2fa/enable'],
  ['post', '/auth/2fa/disable'],
  ['post', '/auth/change-phone'],
] as const;

/** Operations whose body carries an SMS proof: Swagger offers a code and a token example. */
const PROOF_OPERATIONS = [
  '/auth/register',
  '/auth/login/2fa',
  '/auth/login-sms',
  '/auth/reset-password-sms',
  '/auth/2fa/enable',
  '/auth/2fa/disable',
];

/** The body Swagger UI pre-fills from a schema: every property with its example. */
function sampleOf(document: OpenApiDocument, schema: string): Record<string, unknown> {
  const properties = document.components.schemas[schema].properties;
  return Object.fromEntries(
    Object.entries(properties)
      .filter(([, property]) => property.example !== undefined)
      .map(([name, property]) => [name, property.example]),
  );
}

describe('Swagger: the auth flows can be run by hand from /docs', () => {
  let service: TestApp;
  let document: OpenApiDocument;

  beforeAll(async () => {
    // A developer's setup: console SMS and a test number with a fixed code (SMS_TEST_NUMBERS).
    service = await startTestApp({
      env: {
        ...RELAXED_LIMITS,
        SMS_PROVIDER: 'console',
        SMS_TEST_NUMBERS: '+251911234567:123456',
      },
    });
    document = (await service.http().get('/docs-json').expect(200)).body as OpenApiDocument;
  });
  afterAll(() => service.close());

  function operation(method: string, path: string): Operation {
    const found = document.paths[path]?.[method];
    if (!found) throw new Error(`no ${method.toUpperCase()} ${path} in the OpenAPI document`);
    return found;
  }

  function example(path: string, name: string): Record<string, unknown> {
    const examples = operation('post', path).requestBody!.content['application/json'].examples!;
    return { ...examples[name].value };
  }

  it('declares the access-token bearer scheme', () => {
    expect(document.components.securitySchemes['access-token']).toMatchObject({
      type: 'http',
      scheme: 'bearer',
      bearerFormat: 'JWT',
    });
  });

  it.each(PROTECTED_OPERATIONS)('asks for the access token on %s %s', (method, path) => {
    const found = operation(method, path);
    expect(found.security).toEqual([{ 'access-token': [] }]);
    expect(found.responses['401'].content!['application/json'].schema.$ref).toMatch(
      /ErrorEnvelopeDto$/,
    );
  });

  it.each(PUBLIC_OPERATIONS)('documents %s %s as public with its errors', (method, path) => {
    const found = operation(method, path);
    expect(found.security ?? []).toEqual([]);
    expect(found.responses['400'].content!['application/json'].schema.$ref).toMatch(
      /ErrorEnvelopeDto$/,
    );
    expect(found.responses['429'].content!['application/json'].schema.$ref).toMatch(
      /RateLimitedEnvelopeDto$/,
    );
  });

  it.each(PROOF_OPERATIONS)('offers a code and a verificationToken example for %s', (path) => {
    expect(example(path, 'code')).toHaveProperty('code', '123456');
    expect(example(path, 'verificationToken')).toHaveProperty('verificationToken');
    expect(example(path, 'verificationToken')).not.toHaveProperty('code');
  });

  it('runs send-verification → verify-code → register → login-sms → me with the documented examples', async () => {
    const http = () => service.http();

    const send = sampleOf(document, 'SendVerificationDto');
    expect(send).toMatchObject({ phoneNumber: '+251911234567', purpose: 'registration' });
    await http().post('/sms/send-verification').send(send).expect(200);

    const check = { ...sampleOf(document, 'VerifyCodeDto'), purpose: 'registration' };
    expect(check).toMatchObject({ phoneNumber: '+251911234567', code: '123456' });
    const approved = await http().post('/sms/verify-code').send(check).expect(200);

    // The person pastes the verification_token into the register example.
    const register = {
      ...example('/auth/register', 'verificationToken'),
      verificationToken: approved.body.verification_token,
    };
    const registered = await http().post('/auth/register').send(register).expect(200);
    expect(registered.body.user.phoneNumber).toBe('+251911234567');

    // send-verification again, with the purpose switched to login; then the code example as is.
    await http()
      .post('/sms/send-verification')
      .send({ ...send, purpose: 'login' })
      .expect(200);
    const session = await http()
      .post('/auth/login-sms')
      .send(example('/auth/login-sms', 'code'))
      .expect(200);

    // Authorize → access-token, then GET /auth/me.
    const me = await http()
      .get('/auth/me')
      .set('Authorization', `Bearer ${session.body.accessToken}`)
      .expect(200);
    expect(me.body).toEqual(registered.body.user);
  });
});
