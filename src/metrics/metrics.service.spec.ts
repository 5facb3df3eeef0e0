import { ConfigService } from '@nestjs/config';
import { EventRecorder } from '../analytics/events/event-recorder';
import { WebhookStats } from '../analytics/webhooks/webhook-stats';
import { Clock } from '../common/clock';
import { Configuration } from '../config/configuration';
import { loadConfiguration } from '../config/load-configuration';
import { MetricsRegistry } from './metrics-registry';
import { MetricsService } from './metrics.service';

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
  const recorder = { droppedEvents: 0 };
  const webhooks = new WebhookStats(new FixedClock());
  const metrics = new MetricsService(
    new MetricsRegistry(config),
    recorder as EventRecorder,
    webhooks,
    config,
  );
  metrics.onModuleInit();
  return { metrics, recorder, webhooks };
}

describe('MetricsService', () => {
  it('reports webhook failures and dropped analytics events as counters at scrape time', async () => {
    const { metrics, recorder, webhooks } = metricsWith();
    webhooks.failed('signature');
    webhooks.failed('signature');
    recorder.droppedEvents = 5;
    let text = await metrics.render();
    expect(text).toContain('sms_webhook_failures_total{kind="signature"} 2');
    expect(text).toContain('sms_webhook_failures_total{kind="processing"} 0');
    expect(text).toContain('sms_analytics_events_dropped_total 5');

    webhooks.failed('processing');
    recorder.droppedEvents = 7;
    text = await metrics.render();
    expect(text).toContain('sms_webhook_failures_total{kind="signature"} 2');
    expect(text).toContain('sms_webhook_failures_total{kind="processing"} 1');
    expect(text).toContain('sms_analytics_events_dropped_total 7');
  });

  it('collects no process metrics with METRICS_ENABLED=false', async () => {
    const { metrics } = metricsWith({ METRICS_ENABLED: 'false' });
    const text = await metrics.render();
    expect(text).not.toContain('nodejs_');
  });

  it('exports the pumping hold alert threshold', async () => {
    const { metrics } = metricsWith({ SMS_PUMPING_MIN_CONVERSION: '0.3' });
    const text = await metrics.render();
    expect(text).toContain('sms_alert_threshold{rule="pumping_hold"} 0.3');
  });
});
