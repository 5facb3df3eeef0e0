import { ConfigService } from '@nestjs/config';
import { SmsEvents } from '../common/events/sms-events';
import { Configuration } from '../config/configuration';
import { loadConfiguration } from '../config/load-configuration';
import { MetricsRegistry } from '../metrics/metrics-registry';
import { SmsProviders } from './providers/sms-providers';
import { SmsMetrics } from './sms-metrics';

function metricsWith(environment: Record<string, string> = {}) {
  const configuration = loadConfiguration(environment);
  const config = {
    get: (key: keyof Configuration) => configuration[key],
  } as unknown as ConfigService<Configuration, true>;
  const registry = new MetricsRegistry(config);
  const events = new SmsEvents();
  const providers = { circuitStates: () => [] } as unknown as SmsProviders;
  new SmsMetrics(registry, events, providers, config).onModuleInit();
  return { render: () => registry.registry.metrics(), events };
}

const at = new Date('2026-11-24T10:00:00Z');

describe('SmsMetrics', () => {
  it('counts SMS events with bounded labels only', async () => {
    const { render, events } = metricsWith({ SUPPORTED_COUNTRIES: 'ET,US' });
    events.publish({ status: 'sent', occurredAt: at, purpose: 'login', country: 'ET' });
    events.publish({
      status: 'failed',
      occurredAt: at,
      purpose: 'bogus' as never,
      country: 'ZZ',
      phoneHash: 'a'.repeat(64),
      providerSid: 'SM0123456789abcdef0123456789abcdef',
    });
    events.publish({ status: 'rate_limited', occurredAt: at, layer: 'Not A Layer +251911' });
    const text = await render();
    expect(text).toContain('sms_events_total{status="sent",purpose="login",country="ET"} 1');
    expect(text).toContain('sms_events_total{status="failed",purpose="other",country="other"} 1');
    expect(text).toContain(
      'sms_events_total{status="rate_limited",purpose="none",country="none"} 1',
    );
    expect(text).toContain('sms_rate_limit_rejections_total{layer="other"} 1');
    expect(text).not.toContain('aaaaaaaa');
    expect(text).not.toContain('SM0123');
    expect(text).not.toContain('251911');
  });

  it('turns provider latency into seconds and adds up spend per currency', async () => {
    const { render, events } = metricsWith();
    const sent = {
      status: 'sent' as const,
      occurredAt: at,
      channel: 'twilio-verify',
      cost: 0.05,
      currency: 'USD',
      providerLatencyMs: 300,
    };
    events.publish(sent);
    events.publish({ ...sent, providerLatencyMs: 1500 });
    const text = await render();
    expect(text).toContain(
      'sms_provider_request_duration_seconds_bucket{le="0.5",provider="twilio-verify",outcome="success"} 1',
    );
    expect(text).toContain(
      'sms_provider_request_duration_seconds_sum{provider="twilio-verify",outcome="success"} 1.8',
    );
    expect(text).toContain('sms_spend_total{currency="USD"} 0.1');
  });

  it('counts nothing with METRICS_ENABLED=false', async () => {
    const { render, events } = metricsWith({ METRICS_ENABLED: 'false' });
    events.publish({ status: 'sent', occurredAt: at, purpose: 'login', country: 'ET' });
    const text = await render();
    expect(text).not.toContain('sms_events_total{');
  });
});
