import type { FastifyBaseLogger } from 'fastify';
import type { Bindings, ChildLoggerOptions, Level, Logger } from 'pino';

/**
 * Fastify's logger of one request (its `childLoggerFactory`), made only when a line is written at
 * an enabled level. Making pino's child runs the redaction over its bindings, a few percent of
 * the CPU of an answer as small as a 429, for the few requests that log anything at the
 * configured level (LOG_LEVEL info logs every request, and then every request makes it).
 * A route with logger options of its own gets pino's child at once.
 */
export function requestLoggerFactory(
  parent: FastifyBaseLogger,
  bindings: Bindings,
  options: ChildLoggerOptions,
): FastifyBaseLogger {
  if (Object.keys(options).length > 0) return parent.child(bindings, options);
  // The app's logger is pino's (createRootLogger).
  return new RequestLogger(parent as Logger, bindings) as unknown as FastifyBaseLogger;
}

class RequestLogger {
  private made?: Logger;

  constructor(
    private readonly parent: Logger,
    private readonly bindings: Bindings,
  ) {}

  get level(): string {
    return this.made?.level ?? this.parent.level;
  }

  set level(level: string) {
    this.logger().level = level;
  }

  // Methods on the prototype, not arrow fields: one of these is made for every request.
  fatal(...args: unknown[]): void {
    this.write('fatal', args);
  }
  error(...args: unknown[]): void {
    this.write('error', args);
  }
  warn(...args: unknown[]): void {
    this.write('warn', args);
  }
  info(...args: unknown[]): void {
    this.write('info', args);
  }
  debug(...args: unknown[]): void {
    this.write('debug', args);
  }
  trace(...args: unknown[]): void {
    this.write('trace', args);
  }
  silent(): void {}

  isLevelEnabled(level: string): boolean {
    return (this.made ?? this.parent).isLevelEnabled(level);
  }

  child(bindings: Bindings, options?: ChildLoggerOptions): Logger {
    return this.logger().child(bindings, options);
  }

  private write(level: Level, args: unknown[]): void {
    if (!this.isLevelEnabled(level)) return;
    (this.logger()[level] as (...values: unknown[]) => void)(...args);
  }

  private logger(): Logger {
    return (this.made ??= this.parent.child(this.bindings));
  }
}
