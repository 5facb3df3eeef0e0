import { ConfigService } from '@nestjs/config';
import { EventRecorder } from '../analytics/events/event-recorder';
import { WebhookStats } from '../analytics/webhooks/webhook-stats';
import { Clock } from '../common/clock';
import { Configuration } from '../config/configuration';
import { loadConfiguration } from '../config/load-configuration';
import { HoldListener, PumpingGuardService } from '../sms/abuse/pumping/pumping-guard.service';
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
  const holdListeners: HoldListener[] = [];
  const pumping = { onHoldStarted: (listener: HoldListener) => holdListeners.push(listener) };
  const metrics = new MetricsService(
    new MetricsRegistry(config),
    recorder as EventRecorder,
    webhooks,
    config,
    pumping as unknown as PumpingGuardService,
  );
  metrics.onModuleInit();
  return { metrics, recorder, webhooks, holdListeners };
}

const at = new Date('2026-11-24T10:00:00Z');

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

  it('counts the pumping holds started, by scope and mode, and exports their alert threshold', async () => {
    const { metrics, holdListeners } = metricsWith({ SMS_PUMPING_MIN_CONVERSION: '0.3' });
    const hold = {
      id: 'b2a4c6d8-0000-4000-8000-000000000001',
      scopeKey: 'a'.repeat(64),
      label: '+25191123····',
      sends: 50,
      verified: 0,
      ranges: null,
      networks: null,
      createdAt: at,
      expiresAt: at,
    };
    for (const listener of holdListeners) {
      listener({ ...hold, scope: 'prefix', mode: 'enforced' });
      listener({ ...hold, scope: 'prefix', mode: 'enforced' });
      listener({ ...hold, scope: 'country', label: 'ET', mode: 'shadow' });
    }
    const text = await metrics.render();
    expect(text).toContain('sms_pumping_holds_total{scope="prefix",mode="enforced"} 2');
    expect(text).toContain('sms_pumping_holds_total{scope="country",mode="shadow"} 1');
    expect(text).toContain('sms_pumping_holds_total{scope="country",mode="enforced"} 0');
    expect(text).toContain('sms_alert_threshold{rule="pumping_hold"} 0.3');
    expect(text).not.toContain('25191123');
  });
});
