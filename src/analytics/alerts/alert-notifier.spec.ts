import { Logger } from '@nestjs/common';
import { AlertNotification, WebhookAlertNotifier } from './alert-notifier';

const ALERT: AlertNotification = {
  rule: 'failure_rate',
  value: 0.12,
  threshold: 0.05,
  message:
    'SMS failure rate 12% over the last hour (6 failed or undelivered of 50 sends) is above 5%',
  startedAt: '2026-11-24T10:00:00.000Z',
};
const URL = 'https://hooks.example.com/sms-alerts?token=secret';
const FAST = { timeoutMs: 1_000, attempts: 3, retryDelayMs: 0 };

/** A fetch that answers each call with the next status, or throws where the list says so. */
function fakeFetch(answers: (number | Error)[]) {
  const calls: { url: string; init: RequestInit }[] = [];
  const post = (async (url: string, init: RequestInit) => {
    calls.push({ url, init });
    const answer = answers.shift() ?? 204;
    if (answer instanceof Error) throw answer;
    return new Response(null, { status: answer });
  }) as unknown as typeof fetch;
  return { post, calls };
}

describe('WebhookAlertNotifier', () => {
  let warnings: jest.SpyInstance;
  beforeEach(() => {
    warnings = jest.spyOn(Logger.prototype, 'warn').mockImplementation(() => undefined);
  });
  afterEach(() => warnings.mockRestore());

  it('POSTs the alert as JSON once when the webhook accepts it', async () => {
    const { post, calls } = fakeFetch([204]);
    const notifier = new WebhookAlertNotifier(URL, FAST, post);
    await expect(notifier.notify(ALERT)).resolves.toBe(true);
    expect(calls).toHaveLength(1);
    expect(calls[0].url).toBe(URL);
    expect(calls[0].init.method).toBe('POST');
    expect((calls[0].init.headers as Record<string, string>)['Content-Type']).toBe(
      'application/json',
    );
    expect(JSON.parse(calls[0].init.body as string)).toEqual(ALERT);
    expect(calls[0].init.signal).toBeInstanceOf(AbortSignal);
  });

  it('retries network errors, timeouts, 429 and 5xx up to the attempt limit', async () => {
    const timeout = new DOMException('timed out', 'TimeoutError');
    const recovering = fakeFetch([new TypeError('fetch failed'), 503, 200]);
    await expect(new WebhookAlertNotifier(URL, FAST, recovering.post).notify(ALERT)).resolves.toBe(
      true,
    );
    expect(recovering.calls).toHaveLength(3);

    const failing = fakeFetch([timeout, 429, 500, 204]);
    await expect(new WebhookAlertNotifier(URL, FAST, failing.post).notify(ALERT)).resolves.toBe(
      false,
    );
    expect(failing.calls).toHaveLength(3);
  });

  it('gives up at once on a 4xx that a retry would not change', async () => {
    const { post, calls } = fakeFetch([404, 204]);
    await expect(new WebhookAlertNotifier(URL, FAST, post).notify(ALERT)).resolves.toBe(false);
    expect(calls).toHaveLength(1);
    expect(warnings).toHaveBeenCalledTimes(1);
    expect(JSON.stringify(warnings.mock.calls)).toContain('HTTP 404');
    expect(JSON.stringify(warnings.mock.calls)).not.toContain('token=secret');
  });

  it('does nothing without ALERT_WEBHOOK_URL', async () => {
    const { post, calls } = fakeFetch([]);
    const notifier = new WebhookAlertNotifier(undefined, FAST, post);
    expect(notifier.configured).toBe(false);
    await expect(notifier.notify(ALERT)).resolves.toBe(false);
    expect(calls).toEqual([]);
  });
});
