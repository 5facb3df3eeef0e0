import { Injectable } from '@nestjs/common';
import { Clock } from '../../common/clock';

const WINDOW_MS = 3_600_000;
const MAX_REMEMBERED = 10_000;

export type WebhookFailureKind = 'signature' | 'processing';

/** Webhook failures of the last hour, for the alert on "webhook delivery failures". */
@Injectable()
export class WebhookStats {
  private readonly failures: { at: number; kind: WebhookFailureKind }[] = [];
  readonly totals: Record<WebhookFailureKind | 'accepted', number> = {
    signature: 0,
    processing: 0,
    accepted: 0,
  };

  constructor(private readonly clock: Clock) {}

  accepted(): void {
    this.totals.accepted += 1;
  }

  failed(kind: WebhookFailureKind): void {
    this.totals[kind] += 1;
    this.failures.push({ at: this.clock.now().getTime(), kind });
    if (this.failures.length > MAX_REMEMBERED)
      this.failures.splice(0, this.failures.length - MAX_REMEMBERED);
  }

  failuresInLastHour(): number {
    const since = this.clock.now().getTime() - WINDOW_MS;
    while (this.failures.length > 0 && this.failures[0].at < since) this.failures.shift();
    return this.failures.length;
  }
}
