import { ConfigService } from '@nestjs/config';
import { register as globalRegistry } from 'prom-client';
import { Configuration } from '../config/configuration';
import { loadConfiguration } from '../config/load-configuration';
import { MetricsRegistry } from './metrics-registry';

function registryWith(environment: Record<string, string> = {}): MetricsRegistry {
  const configuration = loadConfiguration(environment);
  const config = { get: (key: keyof Configuration) => configuration[key] };
  return new MetricsRegistry(config as unknown as ConfigService<Configuration, true>);
}

describe('MetricsRegistry', () => {
  it("keeps each app's metrics apart, out of prom-client's global registry", async () => {
    const first = registryWith();
    const second = registryWith();
    first.counter({ name: 'sms_things_total', help: 'Things' }).inc(2);
    second.counter({ name: 'sms_things_total', help: 'Things' }).inc(3);
    second.gauge({ name: 'sms_level', help: 'Level' }).set(1);
    second.histogram({ name: 'sms_wait_seconds', help: 'Wait', buckets: [1] }).observe(0.5);

    expect(await first.registry.metrics()).toContain('sms_things_total 2');
    const text = await second.registry.metrics();
    expect(text).toContain('sms_things_total 3');
    expect(text).toContain('sms_level 1');
    expect(text).toContain('sms_wait_seconds_bucket{le="1"} 1');
    expect(await globalRegistry.metrics()).not.toContain('sms_things_total');
  });

  it('says whether METRICS_ENABLED is on', () => {
    expect(registryWith().enabled).toBe(true);
    expect(registryWith({ METRICS_ENABLED: 'false' }).enabled).toBe(false);
  });
});
