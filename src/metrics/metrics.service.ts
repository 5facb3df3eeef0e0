import { Injectable, Logger, OnModuleInit } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import type { FastifyInstance } from 'fastify';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { AlertRule } from '../analytics/alerts/alert-rules';
import { EventRecorder } from '../analytics/events/event-recorder';
import { WebhookFailureKind, WebhookStats } from '../analytics/webhooks/webhook-stats';
import {
  SECURITY_INCIDENT_KINDS,
  SMS_EVENT_STATUSES,
  SmsEvent,
  SmsEvents,
  securityIncidentOf,
} from '../common/events/sms-events';
import { Configuration } from '../config/configuration';
import { SEND_CAP_LAYERS, SendCapLayer } from '../sms/abuse/policies';
import { PumpingGuardService } from '../sms/abuse/pumping/pumping-guard.service';
import { SmsProviders } from '../sms/providers/sms-providers';
import { PURPOSES } from '../common/purpose';
import { DELIVERY_CHANNELS } from '../sms/verification.entity';
import { OpenLabel, httpMethod, httpRoute, oneOf } from './metric-labels';
import { MetricsConfig } from './metrics.config';
import { MetricsRegistry } from './metrics-registry';

const STATUSES = new Set<string>(SMS_EVENT_STATUSES);
const PURPOSE_VALUES = new Set<string>(PURPOSES);
const PROVIDERS = new Set<string>(DELIVERY_CHANNELS);
const WEBHOOK_FAILURE_KINDS: WebhookFailureKind[] = ['signature', 'processing'];

/** Seconds; 2 s is a bucket bound so the SPEC's response-time threshold is measured exactly. */
const HTTP_BUCKETS = [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10];
const PROVIDER_BUCKETS = [0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10];

/**
 * The service's Prometheus metrics, in the app's registry (MetricsRegistry). SMS facts come from
 * the SmsEvents bus, HTTP timings from a Fastify onResponse hook, and the rest is read at scrape
 * time.
 */
@Injectable()
export class MetricsService implements OnModuleInit {
  private readonly logger = new Logger('Metrics');
  private readonly registry: Registry;
  private readonly config: MetricsConfig;
  private readonly countries: Set<string>;
  private readonly layers = new OpenLabel(/^[a-z][a-z0-9_-]{0,31}$/, 32);
  private readonly currencies = new OpenLabel(/^[A-Z]{3}$/, 8);

  private readonly smsEvents: Counter<'status' | 'purpose' | 'country'>;
  private readonly rateLimitRejections: Counter<'layer'>;
  private readonly securityIncidents: Counter<'kind'>;
  private readonly providerDuration: Histogram<'provider' | 'outcome'>;
  private readonly spend: Counter<'currency'>;
  private readonly holdsStarted: Counter<'scope' | 'mode'>;
  private readonly capSuppressions: Counter<'cap'>;
  private readonly httpDuration: Histogram<'method' | 'route' | 'status_code'>;

  constructor(
    metricsRegistry: MetricsRegistry,
    private readonly events: SmsEvents,
    recorder: EventRecorder,
    webhooks: WebhookStats,
    config: ConfigService<Configuration, true>,
    providers: SmsProviders,
    private readonly pumping: PumpingGuardService,
  ) {
    this.registry = metricsRegistry.registry;
    this.config = config.get('metrics', { infer: true });
    this.countries = new Set(config.get('phone', { infer: true }).supportedCountries);
    const registers = [this.registry];

    this.smsEvents = new Counter({
      name: 'sms_events_total',
      help: 'SMS facts by status (sent, delivered, undelivered, failed, verified, expired, rate_limited, suppressed, held), purpose and destination country',
      labelNames: ['status', 'purpose', 'country'],
      registers,
    });
    this.rateLimitRejections = new Counter({
      name: 'sms_rate_limit_rejections_total',
      help: 'Send and verify requests refused by a rate limit, by the layer that refused',
      labelNames: ['layer'],
      registers,
    });
    this.securityIncidents = new Counter({
      name: 'sms_security_incidents_total',
      help:
        'Security incidents by kind: code-attempts (a verification out of wrong-code attempts), ' +
        'verify-phone, verify-phone-ceiling and verify-ip (code checks refused by their limits), ' +
        'password-phone, password-phone-ceiling and password-ip (password attempts refused by ' +
        'their limits), webhook-signature (a Twilio ' +
        'callback with a bad signature)',
      labelNames: ['kind'],
      registers,
    });
    // Every kind from zero, so rate() and increase() see the first incident of each.
    for (const kind of SECURITY_INCIDENT_KINDS) this.securityIncidents.inc({ kind }, 0);
    this.providerDuration = new Histogram({
      name: 'sms_provider_request_duration_seconds',
      help: 'Duration of the SMS provider (Twilio) call of each send, by provider and outcome',
      labelNames: ['provider', 'outcome'],
      buckets: PROVIDER_BUCKETS,
      registers,
    });
    this.spend = new Counter({
      name: 'sms_spend_total',
      help: 'Estimated cost of the SMS sent, by currency',
      labelNames: ['currency'],
      registers,
    });
    this.holdsStarted = new Counter({
      name: 'sms_pumping_holds_total',
      help: 'SMS pumping holds this instance started, by scope (prefix: a number range; country) and mode (enforced, shadow)',
      labelNames: ['scope', 'mode'],
      registers,
    });
    // Present at 0 from boot: Prometheus' increase() does not see a series' first sample as one.
    for (const scope of ['prefix', 'country']) {
      for (const mode of ['enforced', 'shadow']) this.holdsStarted.inc({ scope, mode }, 0);
    }
    this.capSuppressions = new Counter({
      name: 'sms_send_cap_suppressions_total',
      help: 'Sends past a full send cap (country, global) answered as usual with nothing delivered: the numbers had no verified history, or the spared sends past the cap were spent',
      labelNames: ['cap'],
      registers,
    });
    for (const cap of SEND_CAP_LAYERS) this.capSuppressions.inc({ cap }, 0);
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

    new Gauge({
      name: 'sms_provider_circuit_open',
      help: 'Whether the circuit breaker in front of a Twilio API is open (1: calls fail fast) or closed (0)',
      labelNames: ['provider'],
      registers,
      collect() {
        for (const { api, open } of providers.circuitStates()) {
          this.set({ provider: api }, open ? 1 : 0);
        }
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
    this.events.subscribe((event) => this.count(event));
    this.pumping.onHoldStarted((hold) =>
      this.holdsStarted.inc({ scope: hold.scope, mode: hold.mode }),
    );
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

  private count(event: SmsEvent): void {
    this.smsEvents.inc({
      status: oneOf(STATUSES, event.status),
      purpose: oneOf(PURPOSE_VALUES, event.purpose),
      country: oneOf(this.countries, event.country),
    });
    if (event.status === 'rate_limited') {
      this.rateLimitRejections.inc({ layer: this.layers.of(event.layer) });
    }
    const cap = event.status === 'held' ? capOfLayer(event.layer) : undefined;
    if (cap) this.capSuppressions.inc({ cap });
    const incident = securityIncidentOf(event);
    if (incident) this.securityIncidents.inc({ kind: incident });
    if (event.providerLatencyMs !== undefined && event.providerLatencyMs >= 0) {
      this.providerDuration.observe(
        {
          provider: oneOf(PROVIDERS, event.channel),
          outcome: event.status === 'sent' ? 'success' : 'error',
        },
        event.providerLatencyMs / 1000,
      );
    }
    if (event.status === 'sent' && event.cost !== undefined && event.cost > 0) {
      this.spend.inc({ currency: this.currencies.of(event.currency) }, event.cost);
    }
  }
}

/** The send cap a `held` event's layer names (`country-cap`, `global-cap`), if any. */
function capOfLayer(layer: string | undefined): SendCapLayer | undefined {
  return SEND_CAP_LAYERS.find((cap) => layer === `${cap}-cap`);
}
