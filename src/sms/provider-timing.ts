import { Injectable } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { Configuration } from '../config/configuration';
import { ObservedLatency } from './observed-latency';

/** A Twilio round trip, imitated until real ones have been measured. */
const TYPICAL_TWILIO_LATENCY_MS = 150;

/**
 * Timing equalization: how long real sends take from their budget reservation on, and provider
 * code checks, as measured; silent sends and checks of codes nobody received wait as long, so
 * the answer's timing does not tell them apart. Both start from a typical Twilio round trip, so
 * a fresh instance has no gap to measure.
 */
@Injectable()
export class ProviderTiming {
  private readonly sends: ObservedLatency;
  private readonly checks: ObservedLatency;

  constructor(config: ConfigService<Configuration, true>) {
    const provider = config.get('sms', { infer: true }).provider;
    this.sends = new ObservedLatency(provider === 'console' ? 0 : TYPICAL_TWILIO_LATENCY_MS);
    // Only Verify checks codes at the provider; ours are compared here, in no measurable time.
    this.checks = new ObservedLatency(provider === 'twilio-verify' ? TYPICAL_TWILIO_LATENCY_MS : 0);
  }

  /**
   * A real send records how long it took; a silent one waits until it has taken as long as one
   * of those, picked at random.
   */
  async sendDone(silent: boolean, elapsedMs: number): Promise<void> {
    if (silent) await this.sends.imitate(elapsedMs);
    else this.sends.record(elapsedMs);
  }

  recordCheck(elapsedMs: number): void {
    this.checks.record(elapsedMs);
  }

  /** A code nobody received would have been checked at Twilio (Verify): take as long. */
  imitateCheck(): Promise<void> {
    return this.checks.imitate();
  }
}
