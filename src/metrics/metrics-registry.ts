import { Injectable } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import {
  Counter,
  CounterConfiguration,
  Gauge,
  GaugeConfiguration,
  Histogram,
  HistogramConfiguration,
  Registry,
} from 'prom-client';
import { Configuration } from '../config/configuration';

/**
 * The app's Prometheus registry, in which each module defines the metrics of what it owns (next to
 * what they measure). A registry of its own, not prom-client's global one, so two apps in one
 * process, as in the tests, never share or clash.
 *
 * With METRICS_ENABLED=false the metrics are still defined but nothing is ever counted into them:
 * a module subscribes to what it measures only when `enabled`.
 */
@Injectable()
export class MetricsRegistry {
  readonly registry = new Registry();
  readonly enabled: boolean;

  constructor(config: ConfigService<Configuration, true>) {
    this.enabled = config.get('metrics', { infer: true }).enabled;
  }

  counter<Label extends string>(
    configuration: Omit<CounterConfiguration<Label>, 'registers'>,
  ): Counter<Label> {
    return new Counter({ ...configuration, registers: [this.registry] });
  }

  gauge<Label extends string>(
    configuration: Omit<GaugeConfiguration<Label>, 'registers'>,
  ): Gauge<Label> {
    return new Gauge({ ...configuration, registers: [this.registry] });
  }

  histogram<Label extends string>(
    configuration: Omit<HistogramConfiguration<Label>, 'registers'>,
  ): Histogram<Label> {
    return new Histogram({ ...configuration, registers: [this.registry] });
  }
}
