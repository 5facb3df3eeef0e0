import { randomInt } from 'node:crypto';

/** How many recent calls a wait is drawn from. */
const SAMPLES = 64;

/**
 * Recent durations of some real work, and waits drawn from them. A send or a code check that skips
 * that work on purpose (nothing goes to a number without an account) must take as long as one
 * that does it, with the same spread, or timing tells the two apart (OWASP Authentication Cheat
 * Sheet): each wait is one of the recent real durations, picked at random.
 */
export class ObservedLatency {
  private readonly samples: number[] = [];
  private next = 0;
  /** How late timers have fired lately (a moving average). */
  private lateMs = 0;

  /** `typicalMs`: the wait before any call was measured, so a fresh instance shows no gap. */
  constructor(private readonly typicalMs: number) {}

  record(milliseconds: number): void {
    if (this.samples.length < SAMPLES) this.samples.push(milliseconds);
    else this.samples[this.next] = milliseconds;
    this.next = (this.next + 1) % SAMPLES;
  }

  /**
   * Waits until `spentMs` plus the wait is as long as a recent call took. Under a millisecond left
   * (the console provider, a code compared here) there is no wait at all: a timer alone costs
   * about a millisecond, which a client can measure against a path that sets none. Timers fire
   * late by a fraction of a millisecond and more on a busy event loop; how late they have been is
   * taken off the next wait, so the waits are not longer than the work they stand for.
   */
  async imitate(spentMs = 0): Promise<void> {
    const sample =
      this.samples.length === 0 ? this.typicalMs : this.samples[randomInt(this.samples.length)];
    const milliseconds = sample - spentMs - this.lateMs;
    if (milliseconds < 1) return;
    const started = performance.now();
    await new Promise((resolve) => setTimeout(resolve, milliseconds));
    const late = performance.now() - started - milliseconds;
    this.lateMs = Math.max(0, 0.9 * this.lateMs + 0.1 * late);
  }
}
