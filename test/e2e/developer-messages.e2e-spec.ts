import { FakeTwilioServer } from '../fakes/fake-twilio-server';
import { messagingEnv, startFakeTwilio } from '../support/fake-twilio-app';
import { RELAXED_LIMITS } from '../support/relaxed-limits';
import { TestApp, startTestApp } from '../support/test-app';

/**
 * What a developer meets when a request is a little wrong: an answer that names the actual
 * problem, in the envelope, with the right status; and a Swagger document whose error examples
 * are the answers the routes give.
 */

const PHONE = '+251911234567';
const ADMIN_API_KEY = 'messages-operator-key-0123456789abcdef01';

interface DocumentedResponse {
  content?: Record<
    string,
    { schema?: { $ref?: string }; examples?: Record<string, { value: Record<string, unknown> }> }
  >;
}
interface OpenApiDocument {
  paths: Record<
    string,
    Record<
      string,
      {
        parameters?: { name: string; in: string; required?: boolean }[];
        responses: Record<string, DocumentedResponse>;
      }
    >
  >;
  components: { securitySchemes: Record<string, Record<string, unknown>> };
}

describe('Messages a developer trips on', () => {
  let fake: FakeTwilioServer;
  let service: TestApp;

  beforeAll(async () => {
    fake = await startFakeTwilio();
    service = await startTestApp({
      skipAccountFilter: true,
      env: messagingEnv(fake, { ...RELAXED_LIMITS, ADMIN_API_KEY }),
    });
  });
  afterAll(async () => {
    await service?.close();
    await fake?.stop();
  });

  const http = () => service.http();
  const sendBody = JSON.stringify({ phoneNumber: PHONE, purpose: 'registration' });

  describe('bodies of another media type', () => {
    it('answers a JSON body sent as text/plain with 415 naming application/json, and sends nothing', async () => {
      const response = await http()
        .post('/sms/send-verification')
        .set('Content-Type', 'text/plain')
        .send(sendBody)
        .expect(415);
      expect(response.body).toEqual({
        success: false,
        error: 'UNSUPPORTED_MEDIA_TYPE',
        message: expect.stringMatching(/application\/json.*text\/plain/),
      });
      expect(fake.messages).toHaveLength(0);
    });

    it('refuses a form-encoded send (415) instead of sending an SMS', async () => {
      const response = await http()
        .post('/sms/send-verification')
        .type('form')
        .send({ phoneNumber: PHONE, purpose: 'registration' })
        .expect(415);
      expect(response.body.error).toBe('UNSUPPORTED_MEDIA_TYPE');
      expect(fake.messages).toHaveLength(0);
    });

    it('takes forms only where Twilio posts them, and JSON is refused there', async () => {
      const response = await http()
        .post('/webhooks/twilio/status')
        .set('Content-Type', 'application/json')
        .send('{}');
      expect([403, 415]).toContain(response.status);
      expect(response.body.success).toBe(false);
    });

    it('still takes application/json with a charset', async () => {
      await http()
        .post('/phone/validate')
        .set('Content-Type', 'application/json; charset=utf-8')
        .send(JSON.stringify({ phoneNumber: PHONE }))
        .expect(200);
    });
  });

  describe('JSON that is valid but refused', () => {
    it.each([
      ['"__proto__"', `{"__proto__":{"admin":true},"phoneNumber":"${PHONE}","purpose":"login"}`],
      ['"constructor"', `{"constructor":{"prototype":{"admin":true}},"phoneNumber":"${PHONE}"}`],
    ])('names the forbidden %s key instead of calling the JSON invalid', async (_key, body) => {
      const response = await http()
        .post('/sms/send-verification')
        .set('Content-Type', 'application/json')
        .send(body)
        .expect(400);
      expect(response.body.message).toMatch(/__proto__/);
      expect(response.body.message).not.toMatch(/not valid JSON/);
      expect(fake.messages).toHaveLength(0);
    });

    it('still calls broken JSON broken', async () => {
      const response = await http()
        .post('/sms/send-verification')
        .set('Content-Type', 'application/json')
        .send('{"phoneNumber": "+2519')
        .expect(400);
      expect(response.body.message).toBe('The request body is not valid JSON.');
    });

    it('says a numeric phoneNumber must be text, once, without length noise', async () => {
      const requests: [string, object][] = [
        ['/sms/send-verification', { purpose: 'login' }],
        ['/sms/verify-code', { purpose: 'login', code: '123456' }],
        ['/phone/validate', {}],
      ];
      for (const [path, rest] of requests) {
        const response = await http()
          .post(path)
          .send({ phoneNumber: 251911234567, ...rest })
          .expect(400);
        expect(response.body.details).toEqual([
          'phoneNumber must be text in quotes, e.g. "+251911234567"',
        ]);
      }
    });
  });

  describe('a method the path does not take', () => {
    it.each([
      ['get', '/sms/send-verification', 'POST'],
      ['put', '/auth/login', 'POST'],
      ['delete', '/auth/me', 'GET, HEAD'],
      ['post', '/phone/countries', 'GET, HEAD'],
      ['get', '/admin/sms/holds/3f0c2a9e-8b1d-4c7e-9a55-2d4b6e8f1a03', 'DELETE'],
    ] as const)('answers %s %s with 405 and Allow: %s', async (method, path, allow) => {
      const response = await http()[method](path).expect(405);
      expect(response.headers.allow).toBe(allow);
      expect(response.headers['x-request-id']).toBeDefined();
      expect(response.body).toEqual({
        success: false,
        error: 'METHOD_NOT_ALLOWED',
        message: expect.stringContaining(allow),
      });
    });

    it('still answers 404 for a path that does not exist', async () => {
      const response = await http().get('/sms/no-such-route').expect(404);
      expect(response.body.error).toBe('NOT_FOUND');
    });

    it.each([
      ['get', '/health/'],
      ['post', '/sms/send-verification/'],
      ['get', '/auth/me/'],
    ] as const)(
      'answers %s %s (a trailing slash no route serves) with 404, not a 405 naming that method',
      async (method, path) => {
        const response = await http()[method](path).expect(404);
        expect(response.body.error).toBe('NOT_FOUND');
      },
    );
  });

  describe('the Swagger document', () => {
    let document: OpenApiDocument;
    beforeAll(async () => {
      document = (await http().get('/docs-json').expect(200)).body as OpenApiDocument;
    });

    const examplesOf = (response: DocumentedResponse) =>
      Object.values(response.content?.['application/json']?.examples ?? {}).map(
        ({ value }) => value,
      );

    it('does not ask for an Accept-Language header to send a code', () => {
      const parameters = document.paths['/sms/send-verification'].post.parameters ?? [];
      const header = parameters.find((parameter) => parameter.name === 'accept-language');
      expect(header).toMatchObject({ in: 'header', required: false });
    });

    it('shows each error status with the machine codes that status really carries', () => {
      const codesByStatus: Record<string, RegExp> = {
        '400':
          /^(VALIDATION_FAILED|PHONE_[A-Z_]+|PASSWORD_TOO_WEAK|SAME_PHONE_NUMBER|PHONE_CHANGE_FAILED|SMS_DESTINATION_REFUSED)$/,
        '401':
          /^(UNAUTHORIZED|INVALID_CODE|INVALID_CREDENTIALS|INVALID_REFRESH_TOKEN|INVALID_TWO_FACTOR_TOKEN)$/,
        '403': /^(PASSWORD_LOGIN_REQUIRED|PHONE_NOT_VERIFIED|INVALID_SIGNATURE)$/,
        '404': /^(VERIFICATION_NOT_FOUND|HOLD_NOT_FOUND|NOT_FOUND)$/,
        '429':
          /^(RATE_LIMITED|VERIFICATION_ATTEMPTS_EXCEEDED|VERIFICATION_SEND_LIMIT|SMS_PROVIDER_RATE_LIMITED)$/,
        '503':
          /^(SERVICE_UNAVAILABLE|RATE_LIMIT_UNAVAILABLE|SMS_PROVIDER_UNAVAILABLE|SMS_BUDGET_EXHAUSTED|SMS_DESTINATION_PAUSED)$/,
      };
      const wrong: string[] = [];
      for (const [path, operations] of Object.entries(document.paths)) {
        for (const [method, operation] of Object.entries(operations)) {
          for (const [status, response] of Object.entries(operation.responses)) {
            for (const example of examplesOf(response)) {
              const expected = codesByStatus[status];
              if (!expected || !expected.test(String(example.error)) || example.success !== false) {
                wrong.push(`${method.toUpperCase()} ${path} ${status}: ${JSON.stringify(example)}`);
              }
              if (['429', '503'].includes(status) && typeof example.retryAfter !== 'number') {
                wrong.push(`${method.toUpperCase()} ${path} ${status} without retryAfter`);
              }
            }
          }
        }
      }
      expect(wrong).toEqual([]);
    });

    it.each([
      ['/auth/me', 'get', '401', 'UNAUTHORIZED'],
      ['/auth/register', 'post', '401', 'INVALID_CODE'],
      ['/auth/login-sms', 'post', '503', 'SERVICE_UNAVAILABLE'],
      ['/sms/send-verification', 'post', '503', 'SMS_PROVIDER_UNAVAILABLE'],
      ['/sms/verify-code', 'post', '404', 'VERIFICATION_NOT_FOUND'],
      ['/analytics/sms/summary', 'get', '401', 'UNAUTHORIZED'],
    ])('documents %s %s %s with an example of %s', (path, method, status, code) => {
      const examples = examplesOf(document.paths[path][method].responses[status]);
      expect(examples.map((example) => example.error)).toContain(code);
    });

    it('documents no 400 for GET /auth/me, which takes no body', () => {
      expect(document.paths['/auth/me'].get.responses['400']).toBeUndefined();
    });

    it('types the operator key as an API key, not a JWT', () => {
      expect(document.components.securitySchemes.operator.bearerFormat).not.toBe('JWT');
      expect(document.components.securitySchemes['access-token'].bearerFormat).toBe('JWT');
    });
  });
});
