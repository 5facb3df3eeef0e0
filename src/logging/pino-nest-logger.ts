import { LoggerService } from '@nestjs/common';
import type { Logger } from 'pino';
import { requestContext } from '../common/request-context';

/**
 * Routes Nest's Logger (framework and product code) into the structured pino logger. A line
 * written while serving a request carries its id (`reqId`, as Fastify's own request lines do).
 */
export class PinoNestLogger implements LoggerService {
  constructor(private readonly root: Logger) {}

  log(message: unknown, ...rest: unknown[]): void {
    this.write('info', message, rest);
  }
  error(message: unknown, ...rest: unknown[]): void {
    this.write('error', message, rest);
  }
  warn(message: unknown, ...rest: unknown[]): void {
    this.write('warn', message, rest);
  }
  debug(message: unknown, ...rest: unknown[]): void {
    this.write('debug', message, rest);
  }
  verbose(message: unknown, ...rest: unknown[]): void {
    this.write('trace', message, rest);
  }
  fatal(message: unknown, ...rest: unknown[]): void {
    this.write('fatal', message, rest);
  }

  /**
   * Nest passes (message, ...optional, context) where the last string is the context name, and
   * for errors a stack string before it. Objects become structured fields.
   */
  private write(
    level: 'trace' | 'debug' | 'info' | 'warn' | 'error' | 'fatal',
    message: unknown,
    rest: unknown[],
  ): void {
    const parameters = [...rest];
    const context =
      typeof parameters[parameters.length - 1] === 'string' ? parameters.pop() : undefined;
    const fields: Record<string, unknown> = context ? { context } : {};
    const requestId = requestContext.getStore()?.requestId;
    if (requestId !== undefined) fields.reqId = requestId;
    if (
      level === 'error' &&
      typeof parameters[0] === 'string' &&
      parameters[0].includes('\n    at ')
    ) {
      fields.stack = parameters.shift();
    }
    if (message instanceof Error) {
      this.root[level]({ ...fields, err: message }, message.message);
    } else if (typeof message === 'object' && message !== null) {
      const text = typeof parameters[0] === 'string' ? parameters[0] : undefined;
      this.root[level]({ ...fields, ...(message as Record<string, unknown>) }, text);
    } else {
      this.root[level](fields, String(message));
    }
  }
}
