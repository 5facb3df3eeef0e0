import 'reflect-metadata';
import { NestFactory } from '@nestjs/core';
import { NestFastifyApplication } from '@nestjs/platform-fastify';
import { existsSync } from 'node:fs';
import { AppModule } from './app.module';
import { configureApp, createFastifyAdapter } from './app.setup';
import { SystemClock } from './common/clock';
import { ConfigurationError } from './config/configuration-error';
import { loadConfiguration } from './config/load-configuration';
import { EmbeddedDatabaseLockedError } from './database/embedded-postgres';
import { createRootLogger } from './logging/logger';
import { PinoNestLogger } from './logging/pino-nest-logger';
import { logStrayRejections } from './logging/stray-rejections';

async function main(): Promise<void> {
  if (existsSync('.env')) process.loadEnvFile('.env');
  const configuration = loadConfiguration(process.env);
  const logger = createRootLogger(configuration.app);
  logStrayRejections(logger, new SystemClock());

  const application = await NestFactory.create<NestFastifyApplication>(
    AppModule.register(configuration),
    createFastifyAdapter(configuration, logger),
    { logger: new PinoNestLogger(logger), abortOnError: false },
  );
  await configureApp(application, configuration);
  await application.listen({ port: configuration.app.port, host: configuration.app.host });
  const address = application.getHttpServer().address();
  const port = typeof address === 'object' && address ? address.port : configuration.app.port;
  logger.info(
    { port, environment: configuration.app.environment },
    `Listening on http://${configuration.app.host}:${port} (Swagger UI at /docs)`,
  );

  // Graceful shutdown: stop accepting, let in-flight requests finish, flush and close pools.
  let stopping = false;
  const stop = (reason: NodeJS.Signals | 'uncaughtException', exitCode: 0 | 1 = 0): void => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal: reason }, 'Shutting down');
    const deadline = setTimeout(() => {
      logger.error('Shutdown took too long; exiting');
      process.exit(1);
    }, configuration.app.shutdownTimeoutMs);
    deadline.unref();
    shutDown(application)
      .then(() => {
        logger.info('Stopped');
        process.exit(exitCode);
      })
      .catch((error: unknown) => {
        logger.error({ err: error }, 'Shutdown failed');
        process.exit(1);
      });
  };
  // Node passes the signal's number too: not an exit code.
  process.once('SIGTERM', () => stop('SIGTERM'));
  process.once('SIGINT', () => stop('SIGINT'));
  // A throw nothing caught may have left any state half changed: the process ends, but only after
  // the requests in flight got their answers and analytics were flushed, as on SIGTERM.
  process.on('uncaughtException', (error) => {
    logger.fatal({ err: error }, 'Uncaught exception; draining, then exiting with 1');
    stop('uncaughtException', 1);
  });
}

/**
 * The HTTP server drains first: it stops accepting connections, answers 503 to requests arriving
 * on kept-alive ones, and waits for the requests in flight. Only then does Nest's close() run the
 * shutdown hooks, the analytics recorder's final flush and the closing of the pools among them.
 * Nest's own order closes the server after those hooks, so events of requests still in flight
 * would miss the final flush.
 */
async function shutDown(application: NestFastifyApplication): Promise<void> {
  await application.getHttpAdapter().getInstance().close();
  await application.close();
}

main().catch((error: unknown) => {
  if (error instanceof ConfigurationError || error instanceof EmbeddedDatabaseLockedError) {
    process.stderr.write(`${error.message}\n`);
  } else {
    process.stderr.write(
      `Failed to start: ${error instanceof Error ? error.stack : String(error)}\n`,
    );
  }
  process.exit(1);
});
