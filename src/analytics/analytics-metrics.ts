import { Injectable } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { Configuration } from '../config/configuration';
import { MetricsRegistry } from '../metrics/metrics-registry';
import { AlertRule } from './alerts/alert-rules';
import { EventRecorder } from './events/event-recorder';
import { WebhookFailureKind, WebhookStats } from './webhooks/webhook-stats';

const WEBHOOK_FAILURE_KINDS: WebhookFailureKind[] = ['signature', 'processing'];

/**
 * The analytics metrics: Twilio status callbacks that failed and events the recorder dropped,
 * both read at scrape time, and the alert thresholds this instance runs with.
 */
@Injectable()
export class AnalyticsMetrics {
  constructor(
    metrics: MetricsRegistry,
    recorder: EventRecorder,
    webhooks: WebhookStats,
    config: ConfigService<Configuration, true>,
  ) {
    // Totals kept elsewhere are carried over at scrape time as increments, so they stay counters.
    const webhookReported: Record<WebhookFailureKind, number> = { signature: 0, processing: 0 };
    metrics.counter({
      name: 'sms_webhook_failures_total',
      help: 'Twilio status callbacks refused (signature) or that failed (processing)',
      labelNames: ['kind'],
      collect() {
        for (const kind of WEBHOOK_FAILURE_KINDS) {
          const increase = webhooks.totals[kind] - webhookReported[kind];
          this.inc({ kind }, Math.max(increase, 0));
          webhookReported[kind] += Math.max(increase, 0);
        }
      },
    });
    let droppedReported = 0;
    metrics.counter({
      name: 'sms_analytics_events_dropped_total',
      help: 'Analytics events dropped because the buffer was full while the database was unreachable',
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
    const threshold = metrics.gauge({
      name: 'sms_alert_threshold',
      help: 'The ALERT_* thresholds this instance runs with (response_time in seconds; daily_cost 0: off)',
      labelNames: ['rule'],
    });
    for (const [rule, value] of Object.entries(thresholds)) threshold.set({ rule }, value);
  }
}
