import { Clock } from '../clock';

/** How often the same cause of 503s is logged again while it lasts. */
export const OUTAGE_LOG_INTERVAL_MS = 30_000;

export interface OutageOccurrence {
  /** Whether this occurrence deserves a log line. */
  log: boolean;
  /** The first occurrence of its cause since the outage began: the line to give the stack. */
  first: boolean;
  /** Occurrences of the same cause not logged since its previous line. */
  unlogged: number;
}

/** An outage that end() closed: one cause, when it began and how often it happened. */
export interface EndedOutage {
  cause: string;
  startedAt: Date;
  occurrences: number;
}

interface CauseState {
  startedAt: number;
  loggedAt: number;
  unlogged: number;
  occurrences: number;
}

/**
 * Decides which occurrences of an outage's cause are worth a log line: the first, then one per
 * interval, each saying how many of the same went unlogged since the previous line. A caller that
 * can tell when the dependency answers again calls end(), to log the recovery once.
 */
export class OutageLog {
  private readonly causes = new Map<string, CauseState>();

  constructor(
    private readonly clock: Clock,
    private readonly intervalMs = OUTAGE_LOG_INTERVAL_MS,
  ) {}

  record(cause: string): OutageOccurrence {
    const now = this.clock.now().getTime();
    const seen = this.causes.get(cause);
    if (!seen) {
      this.causes.set(cause, { startedAt: now, loggedAt: now, unlogged: 0, occurrences: 1 });
      return { log: true, first: true, unlogged: 0 };
    }
    seen.occurrences += 1;
    if (now - seen.loggedAt < this.intervalMs) {
      seen.unlogged += 1;
      return { log: false, first: false, unlogged: seen.unlogged };
    }
    const unlogged = seen.unlogged;
    seen.loggedAt = now;
    seen.unlogged = 0;
    return { log: true, first: false, unlogged };
  }

  /**
   * Closes every outage under way and says what each cause amounted to; empty when none was (a
   * map size check, cheap enough for every successful call). The next occurrence of a cause
   * starts a new outage, logged with its stack again.
   */
  end(): EndedOutage[] {
    if (this.causes.size === 0) return [];
    const ended = [...this.causes].map(([cause, state]) => ({
      cause,
      startedAt: new Date(state.startedAt),
      occurrences: state.occurrences,
    }));
    this.causes.clear();
    return ended;
  }
}
