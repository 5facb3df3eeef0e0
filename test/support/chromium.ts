import { existsSync } from 'node:fs';
import { Browser, LaunchOptions, Page, chromium } from 'playwright-core';

/** Debian's Chromium (.ci/run installs it); playwright-core drives it, it downloads nothing. */
export const CHROMIUM = '/usr/bin/chromium';

/**
 * Headless, and quiet: without the background-networking flags Chromium keeps trying to reach
 * Google's hosts, which this machine's closed network refuses.
 */
const CHROMIUM_FLAGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--disable-quic',
  '--no-first-run',
];

/**
 * A host name that is not localhost but leads to this machine. Browsers treat localhost (and
 * 127.0.0.1) as a secure origin even over plain HTTP; a page served to a colleague at
 * http://10.0.0.5:3000 is not, and that is where some headers change what a page can load.
 */
export const REMOTE_HOST = 'sms-service.test';

export const chromiumMissing = !existsSync(CHROMIUM);

/** `describe`, or `describe.skip` with a note when Chromium is not installed. */
export function describeInChromium(name: string, tests: () => void): void {
  if (chromiumMissing) {
    // CI installs it (.ci/run); a developer machine without it still runs the other tests.
    console.warn(`Skipping "${name}": ${CHROMIUM} is missing.`);
    describe.skip(name, tests);
    return;
  }
  describe(name, tests);
}

export function launchChromium(options: LaunchOptions = {}): Promise<Browser> {
  return chromium.launch({
    ...options,
    executablePath: CHROMIUM,
    args: [...CHROMIUM_FLAGS, `--host-resolver-rules=MAP ${REMOTE_HOST} 127.0.0.1`],
  });
}

/** Everything that went wrong on a page: console errors and requests that failed or got ≥ 400. */
export function watchPageProblems(
  page: Page,
  ignoreStatus: (url: string) => boolean = () => false,
) {
  const problems: string[] = [];
  page.on('console', (message) => {
    if (message.type() === 'error' && !/status of [45]\d\d/.test(message.text())) {
      problems.push(`console: ${message.text()}`);
    }
  });
  page.on('pageerror', (error) => problems.push(`page error: ${error.message}`));
  page.on('requestfailed', (request) =>
    problems.push(`request failed: ${request.url()} (${request.failure()?.errorText})`),
  );
  page.on('response', (response) => {
    if (response.status() >= 400 && !ignoreStatus(response.url())) {
      problems.push(`HTTP ${response.status()}: ${response.url()}`);
    }
  });
  return problems;
}
