import { Clock } from '../clock';

/** How often the same cause of 503s is logged again while it lasts. */
export const OUTAGE_LOG_INTERVAL_MS = 30_000;

/**
 * Decides which occurrences of an outage's cause are worth a log line: the first, then one per
 * interval, each saying how many of the same went unlogged since the previous line.
 */
export class OutageLog {
  private readonly causes = new Map<string, { loggedAt: number; unlogged: number }>();

  constructor(
    private readonly clock: Clock,
    private readonly intervalMs = OUTAGE_LOG_INTERVAL_MS,
  ) {}

  record(cause: string): { log: boolean; unlogged: number } {
    const now = this.clock.now().getTime();
    const seen = this.causes.get(cause);
    if (seen && now - seen.loggedAt < this.intervalMs) {
      seen.unlogged += 1;
      return { log: false, unlogged: seen.unlogged };
    }
    this.causes.set(cause, { loggedAt: now, unlogged: 0 });
    return { log: true, unlogged: seen?.unlogged ?? 0 };
  }
}
