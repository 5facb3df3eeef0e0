import { ConfigService } from '@nestjs/config';
import { Configuration } from '../config/configuration';
import { loadConfiguration } from '../config/load-configuration';
import { MetricsRegistry } from './metrics-registry';
import { MetricsService } from './metrics.service';

function metricsWith(environment: Record<string, string> = {}) {
  const configuration = loadConfiguration(environment);
  const config = {
    get: (key: keyof Configuration) => configuration[key],
  } as unknown as ConfigService<Configuration, true>;
  const metrics = new MetricsService(new MetricsRegistry(config));
  metrics.onModuleInit();
  return metrics;
}

describe('MetricsService', () => {
  it("shows the process' metrics", async () => {
    const text = await metricsWith().render();
    expect(text).toMatch(/^process_cpu_user_seconds_total /m);
    expect(text).toContain('# TYPE http_request_duration_seconds histogram');
  });

  it('collects no process metrics with METRICS_ENABLED=false', async () => {
    const text = await metricsWith({ METRICS_ENABLED: 'false' }).render();
    expect(text).not.toContain('nodejs_');
  });
});
