import { DynamicModule, Module } from '@nestjs/common';
import { MetricsConfig } from './metrics.config';
import { MetricsController } from './metrics.controller';
import { MetricsRegistryModule } from './metrics-registry.module';
import { MetricsServer } from './metrics-server';
import { MetricsService } from './metrics.service';

/**
 * /metrics and what it shows. It imports no feature module: each module defines its own metrics
 * in the app's registry (MetricsRegistry, global).
 */
@Module({})
export class MetricsModule {
  /**
   * /metrics is a route of the main port only when it is served there (METRICS_ENABLED and no
   * METRICS_PORT); otherwise the main port answers 404 for it like for any unknown path.
   */
  static register(config: MetricsConfig): DynamicModule {
    const onMainPort = config.enabled && config.port === undefined;
    return {
      module: MetricsModule,
      imports: [MetricsRegistryModule],
      controllers: onMainPort ? [MetricsController] : [],
      providers: [MetricsService, MetricsServer],
      exports: [MetricsService],
    };
  }
}
