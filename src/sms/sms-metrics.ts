import { Injectable, OnModuleInit } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { Counter, Histogram } from 'prom-client';
import {
  SECURITY_INCIDENT_KINDS,
  SMS_EVENT_STATUSES,
  SmsEvent,
  SmsEvents,
  securityIncidentOf,
} from '../common/events/sms-events';
import { PURPOSES } from '../common/purpose';
import { Configuration } from '../config/configuration';
import { OpenLabel, oneOf } from '../metrics/metric-labels';
import { MetricsRegistry } from '../metrics/metrics-registry';
import { SEND_CAP_LAYERS, SendCapLayer } from './abuse/policies';
import { SmsProviders } from './providers/sms-providers';
import { DELIVERY_CHANNELS } from './verification.entity';

const STATUSES = new Set<string>(SMS_EVENT_STATUSES);
const PURPOSE_VALUES = new Set<string>(PURPOSES);
const PROVIDERS = new Set<string>(DELIVERY_CHANNELS);

/** Seconds. */
const PROVIDER_BUCKETS = [0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10];

/**
 * The SMS metrics: what the SmsEvents bus reports (sends, checks and their refusals, security
 * incidents, provider latency, spend, sends past a full cap) and the providers' circuit breakers,
 * read at scrape time.
 */
@Injectable()
export class SmsMetrics implements OnModuleInit {
  private readonly countries: Set<string>;
  private readonly layers = new OpenLabel(/^[a-z][a-z0-9_-]{0,31}$/, 32);
  private readonly currencies = new OpenLabel(/^[A-Z]{3}$/, 8);

  private readonly smsEvents: Counter<'status' | 'purpose' | 'country'>;
  private readonly rateLimitRejections: Counter<'layer'>;
  private readonly securityIncidents: Counter<'kind'>;
  private readonly providerDuration: Histogram<'provider' | 'outcome'>;
  private readonly spend: Counter<'currency'>;
  private readonly capSuppressions: Counter<'cap'>;

  constructor(
    private readonly metrics: MetricsRegistry,
    private readonly events: SmsEvents,
    providers: SmsProviders,
    config: ConfigService<Configuration, true>,
  ) {
    this.countries = new Set(config.get('phone', { infer: true }).supportedCountries);

    this.smsEvents = metrics.counter({
      name: 'sms_events_total',
      help: 'SMS facts by status (sent, delivered, undelivered, failed, verified, expired, rate_limited, suppressed, held), purpose and destination country',
      labelNames: ['status', 'purpose', 'country'],
    });
    this.rateLimitRejections = metrics.counter({
      name: 'sms_rate_limit_rejections_total',
      help: 'Send and verify requests refused by a rate limit, by the layer that refused',
      labelNames: ['layer'],
    });
    this.securityIncidents = metrics.counter({
      name: 'sms_security_incidents_total',
      help:
        'Security incidents by kind: code-attempts (a verification out of wrong-code attempts), ' +
        'verify-phone, verify-phone-ceiling and verify-ip (code checks refused by their limits), ' +
        'password-phone, password-phone-ceiling and password-ip (password attempts refused by ' +
        'their limits), webhook-signature (a Twilio callback with a bad signature)',
      labelNames: ['kind'],
    });
    // Every kind from zero, so rate() and increase() see the first incident of each.
    for (const kind of SECURITY_INCIDENT_KINDS) this.securityIncidents.inc({ kind }, 0);
    this.providerDuration = metrics.histogram({
      name: 'sms_provider_request_duration_seconds',
      help: 'Duration of the SMS provider (Twilio) call of each send, by provider and outcome',
      labelNames: ['provider', 'outcome'],
      buckets: PROVIDER_BUCKETS,
    });
    this.spend = metrics.counter({
      name: 'sms_spend_total',
      help: 'Estimated cost of the SMS sent, by currency',
      labelNames: ['currency'],
    });
    this.capSuppressions = metrics.counter({
      name: 'sms_send_cap_suppressions_total',
      help: 'Sends past a full send cap (country, global) answered as usual with nothing delivered: the numbers had no verified history, or the spared sends past the cap were spent',
      labelNames: ['cap'],
    });
    // Present at 0 from boot: Prometheus' increase() does not see a series' first sample as one.
    for (const cap of SEND_CAP_LAYERS) this.capSuppressions.inc({ cap }, 0);

    metrics.gauge({
      name: 'sms_provider_circuit_open',
      help: 'Whether the circuit breaker in front of a Twilio API is open (1: calls fail fast) or closed (0)',
      labelNames: ['provider'],
      collect() {
        for (const { api, open } of providers.circuitStates()) {
          this.set({ provider: api }, open ? 1 : 0);
        }
      },
    });
  }

  onModuleInit(): void {
    if (this.metrics.enabled) this.events.subscribe((event) => this.count(event));
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
