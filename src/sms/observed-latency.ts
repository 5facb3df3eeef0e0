import { randomInt } from 'node:crypto';

/** How many recent provider calls a wait is drawn from. */
const SAMPLES = 64;

/**
 * A provider's recent latencies, and waits drawn from them. A send or a code check that calls no
 * provider on purpose (nothing goes to a number without an account) must take as long as one that
 * does, with the same spread, or timing tells the two apart (OWASP Authentication Cheat Sheet):
 * each wait is one of the recent real latencies, picked at random.
 */
export class ObservedLatency {
  private readonly samples: number[] = [];
  private next = 0;

  /** `typicalMs`: the wait before any call was measured, so a fresh instance shows no gap. */
  constructor(private readonly typicalMs: number) {}

  record(milliseconds: number): void {
    if (this.samples.length < SAMPLES) this.samples.push(milliseconds);
    else this.samples[this.next] = milliseconds;
    this.next = (this.next + 1) % SAMPLES;
  }

  /**
   * Waits as long as a recent call took. Below a millisecond (the console provider, a code
   * compared here) there is no wait at all: a timer alone costs about a millisecond, which a
   * client can measure against a path that sets none.
   */
  async imitate(): Promise<void> {
    const milliseconds =
      this.samples.length === 0 ? this.typicalMs : this.samples[randomInt(this.samples.length)];
    if (milliseconds < 1) return;
    await new Promise((resolve) => setTimeout(resolve, milliseconds));
  }
}
