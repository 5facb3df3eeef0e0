import { BadRequestException, Logger as NestLogger } from '@nestjs/common';
import { FastifyAdapter, NestFastifyApplication } from '@nestjs/platform-fastify';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { DocumentBuilder, SwaggerModule } from '@nestjs/swagger';
import { randomUUID } from 'node:crypto';
import { STATUS_CODES, type IncomingMessage } from 'node:http';
import type { Server, Socket } from 'node:net';
import type { Logger } from 'pino';
import {
  automaticConnectionCap,
  descriptorLimit,
  limitConnections,
  trustedProxyMatcher,
} from './common/connection-limits';
import { clientAddressGroup } from './common/client-address';
import { RequestValidationError } from './common/errors/product-error';
import { toEnvelope } from './common/errors/http-exception.filter';
import { useJsonBodyParser } from './common/http/json-body';
import { requireRouteMediaType } from './common/http/media-type';
import { addSecurityHeaders } from './common/http/security-headers';
import { answerMethodNotAllowed } from './common/http/method-not-allowed';
import { requestContext } from './common/request-context';
import { RequestValidationPipe } from './common/request-validation';
import { HttpConnectionsConfig, TrustProxy } from './app.config';
import { Configuration } from './config/configuration';
import { RequestTimings } from './analytics/request-timings';
import { MetricsService } from './metrics/metrics.service';
import { KnownRefusalResponder } from './sms/abuse/known-refusal-responder';
import { requestLoggerFactory } from './logging/request-logger';

const REQUEST_ID = /^[A-Za-z0-9._:-]{8,128}$/;
const MAX_BODY_DEPTH = 16;

/** Iterative, so the check itself cannot run out of stack. */
function nestingDepthExceeds(value: unknown, maxDepth: number): boolean {
  const stack: { value: unknown; depth: number }[] = [{ value, depth: 0 }];
  while (stack.length > 0) {
    const { value: current, depth } = stack.pop()!;
    if (current === null || typeof current !== 'object') continue;
    if (depth >= maxDepth) return true;
    for (const child of Object.values(current)) stack.push({ value: child, depth: depth + 1 });
  }
  return false;
}

/** Headers a browser client may read on cross-origin responses. */
const EXPOSED_HEADERS = [
  'Retry-After',
  'RateLimit-Limit',
  'RateLimit-Remaining',
  'RateLimit-Reset',
  'X-Request-Id',
];

/**
 * Fastify ignores a bare hop count (it cannot vouch for the peer); TRUST_PROXY=N keeps Express'
 * meaning instead: the N nearest hops are our own proxies. Prefer listing their subnets.
 */
function fastifyTrustProxy(
  trustProxy: TrustProxy,
): boolean | string[] | ((address: string, hop: number) => boolean) {
  if (typeof trustProxy !== 'number') return trustProxy;
  const hops = trustProxy;
  return (_address, hop) => hop < hops;
}

/**
 * What Node answers a connection that broke HTTP or its timeouts before a request reached the
 * app, in the error envelope rather than Fastify's own: 408 past HTTP_HEADERS_TIMEOUT_MS or
 * HTTP_REQUEST_TIMEOUT_MS, 431 for oversized headers, 400 for anything that is not HTTP. The
 * connection is closed either way.
 */
function answerClientError(error: NodeJS.ErrnoException, socket: Socket): void {
  if (error.code === 'ECONNRESET' || socket.destroyed) return;
  const [status, code, message] =
    error.code === 'ERR_HTTP_REQUEST_TIMEOUT'
      ? [408, 'REQUEST_TIMEOUT', 'The request did not arrive in time.']
      : error.code === 'HPE_HEADER_OVERFLOW'
        ? [431, 'HEADERS_TOO_LARGE', 'The request headers are too large.']
        : [400, 'BAD_REQUEST', 'The request is not valid HTTP.'];
  const body = JSON.stringify({ success: false, message, error: code });
  if (socket.writable) {
    socket.write(
      `HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\nContent-Type: application/json\r\n` +
        `Content-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
    );
  }
  socket.destroy(error);
}

/**
 * Node checks the header and request deadlines of open connections every
 * `connectionsCheckingInterval` (30 s by default): a slow client is cut at most this late.
 */
function deadlineCheckInterval(http: HttpConnectionsConfig): number {
  return Math.max(50, Math.min(1_000, Math.floor(http.headersTimeoutMs / 4)));
}

export function createFastifyAdapter(configuration: Configuration, logger: Logger): FastifyAdapter {
  const { app } = configuration;
  const { http } = app;
  return new FastifyAdapter({
    loggerInstance: logger,
    childLoggerFactory: requestLoggerFactory,
    trustProxy: fastifyTrustProxy(app.trustProxy),
    bodyLimit: app.bodyLimitBytes,
    // Slow clients (slowloris headers, a body trickled a byte at a time, idle kept-alive
    // connections) are cut, so they cannot hold descriptors until the process runs out.
    // Fastify leaves the request and connection timeouts off by default.
    http: {
      headersTimeout: http.headersTimeoutMs,
      requestTimeout: http.requestTimeoutMs,
      connectionsCheckingInterval: deadlineCheckInterval(http),
    },
    requestTimeout: http.requestTimeoutMs,
    keepAliveTimeout: http.keepAliveTimeoutMs,
    connectionTimeout: http.socketTimeoutMs,
    clientErrorHandler: answerClientError,
    // A path whose percent-encoding is broken never reaches a route or Nest's filter.
    frameworkErrors: (_error: Error, _request: FastifyRequest, reply: FastifyReply) => {
      const { status, body } = toEnvelope(
        new BadRequestException('The request URL is not valid: it has a broken percent-encoding.'),
      );
      void reply.code(status).send(body);
    },
    // Reuse a well-formed incoming X-Request-Id (from a gateway), otherwise make one.
    requestIdHeader: false,
    genReqId: (request: IncomingMessage) => {
      const incoming = request.headers['x-request-id'];
      return typeof incoming === 'string' && REQUEST_ID.test(incoming) ? incoming : randomUUID();
    },
  });
}

/**
 * Everything HTTP-level the app needs, applied identically by main.ts and the e2e tests:
 * security headers, CORS, validation, error envelope, request ids and Swagger.
 */
export async function configureApp(
  application: NestFastifyApplication,
  configuration: Configuration,
): Promise<void> {
  const { app } = configuration;
  const fastify = application.getHttpAdapter().getInstance();
  applyConnectionLimits(fastify.server, configuration);

  addSecurityHeaders(fastify);

  // While the server closes, Node waits for every open connection to end, and one kept alive after
  // its last response would hold the shutdown until SHUTDOWN_TIMEOUT_MS (then exit 1): responses
  // sent while closing tell the client to close the connection.
  let closing = false;
  fastify.addHook('preClose', (done) => {
    closing = true;
    done();
  });
  fastify.addHook('onSend', (_request, reply, payload, done) => {
    if (closing) void reply.header('Connection', 'close');
    done(null, payload);
  });

  fastify.addHook('onRequest', (request, reply, done) => {
    void reply.header('X-Request-Id', request.id);
    const userAgent = request.headers['user-agent'];
    requestContext.run({ requestId: request.id, ip: request.ip, userAgent }, done);
  });
  // In the request context just opened: each timed route's events wait for its answer.
  application.get(RequestTimings).addHooks(fastify);
  application.get(MetricsService).addHooks(fastify);
  answerMethodNotAllowed(fastify);
  // Other origins get no CORS header at all (not even Expose-Headers); without CORS_ORIGINS the
  // plugin is not registered.
  if (app.corsOrigins.length > 0) {
    const anyOrigin = app.corsOrigins.includes('*');
    application.enableCors({
      origin: (
        origin: string | undefined,
        callback: (error: Error | null, allow: boolean) => void,
      ) => callback(null, origin !== undefined && (anyOrigin || app.corsOrigins.includes(origin))),
      credentials: false,
      exposedHeaders: EXPOSED_HEADERS,
      maxAge: 600,
    });
  }

  useJsonBodyParser(application);
  requireRouteMediaType(fastify);
  // class-transformer recurses once per nesting level: a deep enough body would exhaust the stack
  // (a 500). Nothing this API accepts is nested more than a few levels.
  fastify.addHook('preValidation', (request, _reply, done) => {
    if (nestingDepthExceeds(request.body, MAX_BODY_DEPTH)) {
      done(
        new RequestValidationError([
          `the request body is nested more than ${MAX_BODY_DEPTH} levels deep`,
        ]),
      );
      return;
    }
    done();
  });

  // The last hook before Nest's guards: a send whose refusal this instance already holds is
  // answered here, the cheapest possible 429.
  application.get(KnownRefusalResponder).addHooks(fastify);

  application.useGlobalPipes(new RequestValidationPipe());

  if (app.swaggerEnabled) setUpSwagger(application);
}

function applyConnectionLimits(server: Server, { app }: Configuration): void {
  const logger = new NestLogger('HttpConnections');
  const descriptors = descriptorLimit();
  const maxConnections =
    app.http.maxConnections > 0 ? app.http.maxConnections : automaticConnectionCap(descriptors);
  const isProxy = trustedProxyMatcher(app.trustProxy);
  limitConnections(
    server,
    {
      maxConnections,
      maxConnectionsPerClient: app.http.maxConnectionsPerClient,
      isProxy,
      groupOf: (address) => clientAddressGroup(address, app.clientIpv6PrefixLength),
    },
    logger,
  );
  const everyPeerIsProxy =
    app.trustProxy === true || (typeof app.trustProxy === 'number' && app.trustProxy > 0);
  logger.log(
    {
      maxConnections: maxConnections ?? 'none',
      descriptorLimit: descriptors ?? 'unknown',
      maxConnectionsPerClient: everyPeerIsProxy
        ? 'none: TRUST_PROXY trusts every peer'
        : app.http.maxConnectionsPerClient,
    },
    'HTTP connection limits',
  );
}

function setUpSwagger(application: NestFastifyApplication): void {
  const document = SwaggerModule.createDocument(
    application,
    new DocumentBuilder()
      .setTitle('SMS verification service')
      .setDescription(
        'One-time codes by SMS through Twilio, and the auth flows built on them. ' +
          'Every error answers with `{ success: false, message, error }`; 429 adds `retryAfter` ' +
          'and a `Retry-After` header. Operator routes take `Authorization: Bearer <ADMIN_API_KEY>`.',
      )
      .setVersion('1.0')
      .addBearerAuth(
        {
          type: 'http',
          scheme: 'bearer',
          bearerFormat: 'JWT',
          description:
            'The accessToken of /auth/register, /auth/login, /auth/login-sms or /auth/refresh',
        },
        'access-token',
      )
      .addBearerAuth(
        {
          type: 'http',
          scheme: 'bearer',
          bearerFormat: 'API key',
          description: 'The ADMIN_API_KEY of the service (operator routes only)',
        },
        'operator',
      )
      .build(),
  );
  SwaggerModule.setup('docs', application, document, {
    jsonDocumentUrl: 'docs-json',
    customSiteTitle: 'SMS verification API',
  });
}
