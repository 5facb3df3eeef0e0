import {
  BeforeApplicationShutdown,
  Injectable,
  Logger,
  OnApplicationBootstrap,
} from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { IncomingMessage, Server, ServerResponse, createServer } from 'node:http';
import { AddressInfo } from 'node:net';
import { SystemClock } from '../common/clock';
import { OutageLog } from '../common/errors/outage-log';
import { Configuration } from '../config/configuration';
import { MetricsConfig } from './metrics.config';
import { MetricsService } from './metrics.service';

/**
 * METRICS_PORT: /metrics on a listener of its own, without authentication, so Prometheus can
 * scrape from a private network without holding the operator key. Nothing else is served there.
 */
@Injectable()
export class MetricsServer implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly logger = new Logger('Metrics');
  private readonly config: MetricsConfig;
  private server?: Server;

  constructor(
    private readonly metrics: MetricsService,
    config: ConfigService<Configuration, true>,
  ) {
    this.config = config.get('metrics', { infer: true });
  }

  /** Where the listener is, once started (METRICS_PORT=0 picks a free port). */
  get address(): AddressInfo | undefined {
    const address = this.server?.address();
    return address && typeof address === 'object' ? address : undefined;
  }

  async onApplicationBootstrap(): Promise<void> {
    if (!this.config.enabled || this.config.port === undefined) return;
    const server = createServer((request, response) => void this.serve(request, response));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.config.port, this.config.host, () => {
        server.off('error', reject);
        resolve();
      });
    });
    // Once listening, an error (a connection it could not accept) must not end the process.
    const errors = new OutageLog(new SystemClock());
    server.on('error', (error: NodeJS.ErrnoException) => {
      const { log, unlogged } = errors.record(String(error.code));
      if (!log) return;
      this.logger.warn(
        { errorCode: error.code, repeatsSinceLastLine: unlogged },
        'metrics listener error; still listening',
      );
    });
    this.server = server;
    const { address, port } = this.address!;
    this.logger.log({ host: address, port }, `Metrics at http://${address}:${port}/metrics`);
  }

  private async serve(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const path = (request.url ?? '/').split('?')[0];
    if (path !== '/metrics') return this.reply(response, 404, 'Not found\n');
    if (request.method !== 'GET' && request.method !== 'HEAD') {
      response.setHeader('Allow', 'GET, HEAD');
      return this.reply(response, 405, 'Method not allowed\n');
    }
    try {
      const body = await this.metrics.render();
      response.writeHead(200, {
        'Content-Type': this.metrics.contentType,
        'Content-Length': Buffer.byteLength(body),
      });
      response.end(request.method === 'HEAD' ? undefined : body);
    } catch (error) {
      this.logger.error({ err: error }, 'could not render the metrics');
      this.reply(response, 500, 'Metrics unavailable\n');
    }
  }

  private reply(response: ServerResponse, status: number, text: string): void {
    response.writeHead(status, { 'Content-Type': 'text/plain; charset=utf-8' });
    response.end(text);
  }

  async beforeApplicationShutdown(): Promise<void> {
    const server = this.server;
    if (!server) return;
    this.server = undefined;
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    // Prometheus keeps its scrape connection alive; it would hold the close open.
    server.closeAllConnections();
    await closed;
  }
}
