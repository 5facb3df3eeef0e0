import { ConfigService } from '@nestjs/config';
import { Configuration } from '../../../config/configuration';
import { loadConfiguration } from '../../../config/load-configuration';
import { MetricsRegistry } from '../../../metrics/metrics-registry';
import { HoldListener, PumpingGuardService } from './pumping-guard.service';
import { PumpingMetrics } from './pumping-metrics';

function metricsWith(environment: Record<string, string> = {}) {
  const configuration = loadConfiguration(environment);
  const config = {
    get: (key: keyof Configuration) => configuration[key],
  } as unknown as ConfigService<Configuration, true>;
  const registry = new MetricsRegistry(config);
  const holdListeners: HoldListener[] = [];
  const pumping = { onHoldStarted: (listener: HoldListener) => holdListeners.push(listener) };
  new PumpingMetrics(registry, pumping as unknown as PumpingGuardService).onModuleInit();
  return { render: () => registry.registry.metrics(), holdListeners };
}

const at = new Date('2026-11-24T10:00:00Z');

describe('PumpingMetrics', () => {
  it('counts the pumping holds started, by scope and mode', async () => {
    const { render, holdListeners } = metricsWith();
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
    const text = await render();
    expect(text).toContain('sms_pumping_holds_total{scope="prefix",mode="enforced"} 2');
    expect(text).toContain('sms_pumping_holds_total{scope="country",mode="shadow"} 1');
    expect(text).toContain('sms_pumping_holds_total{scope="country",mode="enforced"} 0');
    expect(text).not.toContain('25191123');
  });

  it('listens to no hold with METRICS_ENABLED=false', () => {
    const { holdListeners } = metricsWith({ METRICS_ENABLED: 'false' });
    expect(holdListeners).toEqual([]);
  });
});
