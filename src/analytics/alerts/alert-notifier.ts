import { Logger } from '@nestjs/common';

/** The body POSTed to ALERT_WEBHOOK_URL. */
export interface AlertNotification {
  rule: string;
  value: number;
  threshold: number;
  message: string;
  startedAt: string;
}

/** Tells someone outside the service that an alert opened. */
export abstract class AlertNotifier {
  /** Whether there is anyone to tell (ALERT_WEBHOOK_URL is set). */
  abstract readonly configured: boolean;

  /** Resolves to whether the notification was accepted; never throws. */
  abstract notify(notification: AlertNotification): Promise<boolean>;
}

export interface WebhookDelivery {
  timeoutMs: number;
  attempts: number;
  retryDelayMs: number;
}

export const DEFAULT_WEBHOOK_DELIVERY: WebhookDelivery = {
  timeoutMs: 3_000,
  attempts: 3,
  retryDelayMs: 500,
};

const sleep = (milliseconds: number) => new Promise((resolve) => setTimeout(resolve, milliseconds));

/**
 * A JSON POST per alert, with a short timeout and a couple of retries. Only network errors,
 * timeouts, 408, 429 and 5xx are retried: another 4xx will not change on a second try. The URL
 * is never logged, as it often carries a token.
 */
export class WebhookAlertNotifier extends AlertNotifier {
  private readonly logger = new Logger('AlertNotifier');

  constructor(
    private readonly url: string | undefined,
    private readonly delivery: WebhookDelivery = DEFAULT_WEBHOOK_DELIVERY,
    private readonly post: typeof fetch = fetch,
  ) {
    super();
  }

  get configured(): boolean {
    return this.url !== undefined;
  }

  async notify(notification: AlertNotification): Promise<boolean> {
    if (!this.url) return false;
    const body = JSON.stringify(notification);
    let lastProblem = '';
    for (let attempt = 1; attempt <= this.delivery.attempts; attempt += 1) {
      if (attempt > 1) await sleep(this.delivery.retryDelayMs * (attempt - 1));
      try {
        const response = await this.post(this.url, {
          method: 'POST',
          headers: { 'Content-Type': 'application/json', 'User-Agent': 'sms-verification-alerts' },
          body,
          signal: AbortSignal.timeout(this.delivery.timeoutMs),
        });
        await response.arrayBuffer().catch(() => undefined);
        if (response.ok) return true;
        lastProblem = `HTTP ${response.status}`;
        if (response.status < 500 && response.status !== 408 && response.status !== 429) break;
      } catch (error) {
        lastProblem = error instanceof Error ? error.name : 'error';
      }
    }
    this.logger.warn(
      { rule: notification.rule, problem: lastProblem },
      'ALERT_WEBHOOK_URL did not accept the alert; it is tried again at the next evaluation',
    );
    return false;
  }
}
