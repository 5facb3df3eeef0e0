import { ConfigService } from '@nestjs/config';
import { Clock } from '../common/clock';
import { Configuration } from '../config/configuration';
import { loadConfiguration } from '../config/load-configuration';
import { MetricsRegistry } from '../metrics/metrics-registry';
import { AnalyticsMetrics } from './analytics-metrics';
import { EventRecorder } from './events/event-recorder';
import { WebhookStats } from './webhooks/webhook-stats';

class FixedClock extends Clock {
  now(): Date {
    return new Date('2026-11-24T10:00:00Z');
  }
}

function metricsWith(environment: Record<string, string> = {}) {
  const configuration = loadConfiguration(environment);
  const config = {
    get: (key: keyof Configuration) => configuration[key],
  } as unknown as ConfigService<Configuration, true>;
  const registry = new MetricsRegistry(config);
  const recorder = { droppedEvents: 0 };
  const webhooks = new WebhookStats(new FixedClock());
  new AnalyticsMetrics(registry, recorder as EventRecorder, webhooks, config);
  return { render: () => registry.registry.metrics(), recorder, webhooks };
}

describe('AnalyticsMetrics', () => {
  it('reports webhook failures and dropped analytics events as counters at scrape time', async () => {
    const { render, recorder, webhooks } = metricsWith();
    webhooks.failed('signature');
    webhooks.failed('signature');
    recorder.droppedEvents = 5;
    let text = await render();
    expect(text).toContain('sms_webhook_failures_total{kind="signature"} 2');
    expect(text).toContain('sms_webhook_failures_total{kind="processing"} 0');
    expect(text).toContain('sms_analytics_events_dropped_total 5');

    webhooks.failed('processing');
    recorder.droppedEvents = 7;
    text = await render();
    expect(text).toContain('sms_webhook_failures_total{kind="signature"} 2');
    expect(text).toContain('sms_webhook_failures_total{kind="processing"} 1');
    expect(text).toContain('sms_analytics_events_dropped_total 7');
  });

  it('exports the pumping hold alert threshold', async () => {
    const { render } = metricsWith({ SMS_PUMPING_MIN_CONVERSION: '0.3' });
    const text = await render();
    expect(text).toContain('sms_alert_threshold{rule="pumping_hold"} 0.3');
  });
});
