import { Global, Module } from '@nestjs/common';
import { MetricsRegistry } from './metrics-registry';

/**
 * Global, so every module can define its metrics in the app's registry without importing
 * MetricsModule (and the /metrics route and listener that come with it).
 */
@Global()
@Module({ providers: [MetricsRegistry], exports: [MetricsRegistry] })
export class MetricsRegistryModule {}
