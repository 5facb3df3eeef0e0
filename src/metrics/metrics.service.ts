import { Injectable, Logger, OnModuleInit } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import type { FastifyInstance } from 'fastify';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { AlertRule } from '../analytics/alerts/alert-rules';
import { EventRecorder } from '../analytics/events/event-recorder';
import { WebhookFailureKind, WebhookStats } from '../analytics/webhooks/webhook-stats';
import { Configuration } from '../config/configuration';
import { httpMethod, httpRoute } from './metric-labels';
import { MetricsConfig } from './metrics.config';
import { MetricsRegistry } from './metrics-registry';

const WEBHOOK_FAILURE_KINDS: WebhookFailureKind[] = ['signature', 'processing'];

/** Seconds; 2 s is a bucket bound so the SPEC's response-time threshold is measured exactly. */
const HTTP_BUCKETS = [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10];

/**
 * The service's Prometheus metrics, in the app's registry (MetricsRegistry), but for the SMS
 * events' (SmsMetrics, sms/) and the pumping holds' (PumpingMetrics, sms/abuse/). HTTP timings come from a Fastify onResponse hook, and the rest is
 * read at scrape time.
 */
@Injectable()
export class MetricsService implements OnModuleInit {
  private readonly logger = new Logger('Metrics');
  private readonly registry: Registry;
  private readonly config: MetricsConfig;

  private readonly httpDuration: Histogram<'method' | 'route' | 'status_code'>;

  constructor(
    metricsRegistry: MetricsRegistry,
    recorder: EventRecorder,
    webhooks: WebhookStats,
    config: ConfigService<Configuration, true>,
  ) {
    this.registry = metricsRegistry.registry;
    this.config = config.get('metrics', { infer: true });
    const registers = [this.registry];

    this.httpDuration = new Histogram({
      name: 'http_request_duration_seconds',
      help: 'HTTP response time by method, route template and status code',
      labelNames: ['method', 'route', 'status_code'],
      buckets: HTTP_BUCKETS,
      registers,
    });

    // Totals kept elsewhere are carried over at scrape time as increments, so they stay counters.
    const webhookReported: Record<WebhookFailureKind, number> = { signature: 0, processing: 0 };
    new Counter({
      name: 'sms_webhook_failures_total',
      help: 'Twilio status callbacks refused (signature) or that failed (processing)',
      labelNames: ['kind'],
      registers,
      collect() {
        for (const kind of WEBHOOK_FAILURE_KINDS) {
          const increase = webhooks.totals[kind] - webhookReported[kind];
          this.inc({ kind }, Math.max(increase, 0));
          webhookReported[kind] += Math.max(increase, 0);
        }
      },
    });
    let droppedReported = 0;
    new Counter({
      name: 'sms_analytics_events_dropped_total',
      help: 'Analytics events dropped because the buffer was full while the database was unreachable',
      registers,
      collect() {
        const increase = Math.max(recorder.droppedEvents - droppedReported, 0);
        this.inc(increase);
        droppedReported += increase;
      },
    });

    const alerts = config.get('alerts', { infer: true });
    const thresholds: Record<AlertRule, number> = {
      failure_rate: alerts.failureRate,
      response_time: alerts.responseTimeMs / 1000,
      rate_limit_violations: alerts.rateLimitViolationsPerHour,
      // The effective threshold: ALERT_DAILY_COST, or its share of SMS_DAILY_BUDGET.
      daily_cost: alerts.dailyCost ?? 0,
      webhook_failures: alerts.webhookFailuresPerHour,
      pumping_hold: config.get('pumping', { infer: true }).minConversion,
      security_incidents: alerts.securityIncidentsPerHour,
    };
    const threshold = new Gauge({
      name: 'sms_alert_threshold',
      help: 'The ALERT_* thresholds this instance runs with (response_time in seconds; daily_cost 0: off)',
      labelNames: ['rule'],
      registers,
    });
    for (const [rule, value] of Object.entries(thresholds)) threshold.set({ rule }, value);
  }

  onModuleInit(): void {
    if (!this.config.enabled) return;
    collectDefaultMetrics({ register: this.registry });
  }

  /** Set up by configureApp (app.setup.ts): every answer's duration, by route and status. */
  addHooks(fastify: FastifyInstance): void {
    if (!this.config.enabled) return;
    fastify.addHook('onResponse', (request, reply, done) => {
      try {
        this.httpDuration.observe(
          {
            method: httpMethod(request.method),
            route: httpRoute(request.routeOptions.url),
            status_code: String(reply.statusCode),
          },
          reply.elapsedTime / 1000,
        );
      } catch (error) {
        this.logger.warn({ err: error }, 'could not record an HTTP timing');
      }
      done();
    });
  }

  get contentType(): string {
    return this.registry.contentType;
  }

  render(): Promise<string> {
    return this.registry.metrics();
  }
}
