import { Injectable, OnModuleInit } from '@nestjs/common';
import { Counter } from 'prom-client';
import { MetricsRegistry } from '../../../metrics/metrics-registry';
import { PumpingGuardService } from './pumping-guard.service';
import { HoldMode, HoldScope } from './sms-hold.entity';

const SCOPES: readonly HoldScope[] = ['prefix', 'country'];
const MODES: readonly HoldMode[] = ['enforced', 'shadow'];

/** The pumping holds this instance starts, as PumpingGuardService reports them. */
@Injectable()
export class PumpingMetrics implements OnModuleInit {
  private readonly holdsStarted: Counter<'scope' | 'mode'>;

  constructor(
    private readonly metrics: MetricsRegistry,
    private readonly pumping: PumpingGuardService,
  ) {
    this.holdsStarted = metrics.counter({
      name: 'sms_pumping_holds_total',
      help: 'SMS pumping holds this instance started, by scope (prefix: a number range; country) and mode (enforced, shadow)',
      labelNames: ['scope', 'mode'],
    });
    // Present at 0 from boot: Prometheus' increase() does not see a series' first sample as one.
    for (const scope of SCOPES) {
      for (const mode of MODES) this.holdsStarted.inc({ scope, mode }, 0);
    }
  }

  onModuleInit(): void {
    if (!this.metrics.enabled) return;
    this.pumping.onHoldStarted((hold) =>
      this.holdsStarted.inc({ scope: hold.scope, mode: hold.mode }),
    );
  }
}
