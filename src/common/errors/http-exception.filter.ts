import { ArgumentsHost, Catch, ExceptionFilter, HttpException, Logger } from '@nestjs/common';
import type { FastifyReply } from 'fastify';
import { Clock } from '../clock';
import { dependencyFailureReason } from './dependency-failure';
import { OutageLog } from './outage-log';
import { ErrorKind, ProductError, ServiceUnavailableError } from './product-error';

/** The one error envelope of docs/PRODUCT.md#errors. */
export interface ErrorEnvelope {
  success: false;
  message: string;
  error: string;
  retryAfter?: number;
  details?: string[];
}

const STATUS_BY_KIND: Record<ErrorKind, number> = {
  invalid_input: 400,
  unauthorized: 401,
  forbidden: 403,
  not_found: 404,
  conflict: 409,
  rate_limited: 429,
  unavailable: 503,
};

const CODE_BY_STATUS: Record<number, string> = {
  400: 'BAD_REQUEST',
  401: 'UNAUTHORIZED',
  403: 'FORBIDDEN',
  404: 'NOT_FOUND',
  405: 'METHOD_NOT_ALLOWED',
  406: 'NOT_ACCEPTABLE',
  408: 'REQUEST_TIMEOUT',
  409: 'CONFLICT',
  413: 'PAYLOAD_TOO_LARGE',
  415: 'UNSUPPORTED_MEDIA_TYPE',
  429: 'RATE_LIMITED',
  503: 'SERVICE_UNAVAILABLE',
};

/** Fastify's own request errors (body parsing, size, media type), reworded for a person. */
const FASTIFY_MESSAGES: Record<string, string> = {
  FST_ERR_CTP_INVALID_JSON_BODY: 'The request body is not valid JSON.',
  FST_ERR_CTP_EMPTY_JSON_BODY: 'The request body is empty but declared as JSON.',
  FST_ERR_CTP_BODY_TOO_LARGE: 'The request body is too large.',
  FST_ERR_CTP_INVALID_MEDIA_TYPE:
    'The request content type is not supported; send application/json.',
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: 'The Content-Length header does not match the body.',
};

/** Fastify's request errors arrive wrapped in an HttpException whose cause names the problem. */
function httpExceptionMessage(exception: HttpException): string {
  const causeCode = (exception.cause as { code?: unknown } | undefined)?.code;
  if (typeof causeCode === 'string' && FASTIFY_MESSAGES[causeCode])
    return FASTIFY_MESSAGES[causeCode];
  const response = exception.getResponse();
  const raw = typeof response === 'string' ? response : (response as { message?: unknown }).message;
  if (Array.isArray(raw)) return raw.join('; ');
  return typeof raw === 'string' ? raw : exception.message;
}

interface Mapped {
  status: number;
  body: ErrorEnvelope;
  headers: Record<string, string>;
}

export function toEnvelope(exception: unknown): Mapped {
  if (exception instanceof ProductError) {
    const status = STATUS_BY_KIND[exception.kind];
    const headers: Record<string, string> = { ...exception.headers };
    const body: ErrorEnvelope = {
      success: false,
      message: exception.message,
      error: exception.code,
    };
    if (exception.retryAfterSeconds !== undefined) {
      body.retryAfter = exception.retryAfterSeconds;
      headers['Retry-After'] = String(exception.retryAfterSeconds);
    }
    if (exception.details) body.details = exception.details;
    return { status, body, headers };
  }
  if (exception instanceof HttpException) {
    const status = exception.getStatus();
    return {
      status,
      body: {
        success: false,
        message: httpExceptionMessage(exception),
        error: CODE_BY_STATUS[status] ?? `HTTP_${status}`,
      },
      headers: {},
    };
  }
  if (dependencyFailureReason(exception)) return toEnvelope(new ServiceUnavailableError());
  return {
    status: 500,
    body: { success: false, message: 'An unexpected error occurred.', error: 'INTERNAL_ERROR' },
    headers: {},
  };
}

/** Maps every exception to the error envelope; stack traces go to the log, never the client. */
@Catch()
export class HttpExceptionFilter implements ExceptionFilter {
  private readonly logger = new Logger('HttpExceptionFilter');
  private readonly outages: OutageLog;

  constructor(clock: Clock) {
    this.outages = new OutageLog(clock);
  }

  catch(exception: unknown, host: ArgumentsHost): void {
    const reply = host.switchToHttp().getResponse<FastifyReply>();
    const { status, body, headers } = toEnvelope(exception);
    // A body cut off by its client (or by HTTP_REQUEST_TIMEOUT_MS) fails with ECONNRESET like a
    // lost database connection; nothing is down, and nobody is left to answer. Any client can do
    // that at will, so it is no error of ours: one debug line, no stack.
    const clientGone = reply.raw?.socket?.destroyed === true;
    if (clientGone && status >= 500) this.logClientGone(exception);
    else if (status === 503) this.logUnavailable(exception);
    else if (status >= 500) this.logUnexpected(exception);
    void reply.headers(headers).status(status).send(body);
  }

  private logClientGone(exception: unknown): void {
    const errorCode = (exception as { code?: unknown } | null)?.code;
    this.logger.debug(
      { errorCode: typeof errorCode === 'string' ? errorCode : undefined },
      'the client closed its connection before its request was read',
    );
  }

  private logUnexpected(exception: unknown): void {
    const error = exception instanceof Error ? exception : new Error(String(exception));
    this.logger.error({ err: error }, 'unhandled error');
  }

  /**
   * An outage fails every request; one line per cause and interval tells the operator, and the
   * per-response count is in the metrics. Only codes are logged: a driver's message may carry a
   * host or a query.
   */
  private logUnavailable(exception: unknown): void {
    const errorName = (exception as { name?: unknown } | null)?.name;
    const cause =
      exception instanceof ProductError
        ? exception.code
        : (dependencyFailureReason(exception) ?? String(errorName));
    const { log, unlogged } = this.outages.record(cause);
    if (!log) return;
    this.logger.warn(
      { errorName, errorCode: cause, repeatsSinceLastLine: unlogged },
      'dependency unavailable',
    );
  }
}
