import { Injectable, Logger, OnModuleInit } from '@nestjs/common';
import type { FastifyInstance } from 'fastify';
import { Histogram, collectDefaultMetrics } from 'prom-client';
import { httpMethod, httpRoute } from './metric-labels';
import { MetricsRegistry } from './metrics-registry';

/** Seconds; 2 s is a bucket bound so the SPEC's response-time threshold is measured exactly. */
const HTTP_BUCKETS = [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10];

/**
 * What /metrics shows: the app's registry (MetricsRegistry), in which each module defines the
 * metrics of what it owns (its `*-metrics.ts`), and the metrics no module owns: the process'
 * (prom-client's defaults) and every HTTP answer's duration, from a Fastify onResponse hook.
 */
@Injectable()
export class MetricsService implements OnModuleInit {
  private readonly logger = new Logger('Metrics');
  private readonly httpDuration: Histogram<'method' | 'route' | 'status_code'>;
  /**
   * Each series' observer, found by a plain key: prom-client would sort and join the label names
   * of every observation again. Few enough to keep them all: methods, route templates and status
   * codes are bounded (metric-labels.ts).
   */
  private readonly httpSeries = new Map<
    string,
    Histogram.Internal<'method' | 'route' | 'status_code'>
  >();

  constructor(private readonly metrics: MetricsRegistry) {
    this.httpDuration = metrics.histogram({
      name: 'http_request_duration_seconds',
      help: 'HTTP response time by method, route template and status code',
      labelNames: ['method', 'route', 'status_code'],
      buckets: HTTP_BUCKETS,
    });
  }

  onModuleInit(): void {
    if (this.metrics.enabled) collectDefaultMetrics({ register: this.metrics.registry });
  }

  /** Set up by configureApp (app.setup.ts): every answer's duration, by route and status. */
  addHooks(fastify: FastifyInstance): void {
    if (!this.metrics.enabled) return;
    fastify.addHook('onResponse', (request, reply, done) => {
      try {
        this.httpSeriesOf(request.method, request.routeOptions.url, reply.statusCode).observe(
          reply.elapsedTime / 1000,
        );
      } catch (error) {
        this.logger.warn({ err: error }, 'could not record an HTTP timing');
      }
      done();
    });
  }

  private httpSeriesOf(method: string, route: string | undefined, statusCode: number) {
    const key = `${method} ${statusCode} ${route}`;
    let series = this.httpSeries.get(key);
    if (!series) {
      series = this.httpDuration.labels({
        method: httpMethod(method),
        route: httpRoute(route),
        status_code: String(statusCode),
      });
      this.httpSeries.set(key, series);
    }
    return series;
  }

  get contentType(): string {
    return this.metrics.registry.contentType;
  }

  render(): Promise<string> {
    return this.metrics.registry.metrics();
  }
}
