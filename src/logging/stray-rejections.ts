import type { Logger } from 'pino';
import { Clock } from '../common/clock';
import { OutageLog } from '../common/errors/outage-log';

/**
 * A promise that rejected with nobody listening would end the process (Node's default), and with
 * it every request in flight, for what is at worst one lost piece of background work: it is
 * logged, with its stack, and the process keeps serving. A bug that leaves one behind per request
 * must not flood the log either: one line per place of origin (its stack) every 30 s, with the
 * count of those not logged since.
 */
export function logStrayRejections(
  logger: Pick<Logger, 'error'>,
  clock: Clock,
  events: Pick<NodeJS.Process, 'on'> = process,
): void {
  const seen = new OutageLog(clock);
  events.on('unhandledRejection', (reason: unknown) => {
    const error =
      reason instanceof Error ? reason : new Error(`non-error rejection: ${String(reason)}`);
    const { log, unlogged } = seen.record(error.stack ?? error.message);
    if (!log) return;
    logger.error(
      { err: error, repeatsSinceLastLine: unlogged },
      'Unhandled promise rejection; the process keeps serving',
    );
  });
}
