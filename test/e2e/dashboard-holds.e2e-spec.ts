import { Browser, Page } from 'playwright-core';
import { describeInChromium, launchChromium } from '../support/chromium';
import { FakeTwilioServer } from '../fakes/fake-twilio-server';
import { messagingEnv, startFakeTwilio } from '../support/fake-twilio-app';
import { TestApp, startTestApp } from '../support/test-app';

/**
 * The dashboard's holds panel (/admin): an operator sees each pumping hold with its scope and how
 * wide its traffic was, and lifts it from the page. Driven in Chromium like dashboard.e2e-spec.ts.
 */

const ADMIN_API_KEY = 'holds-panel-operator-key-0123456789abcdef';
const operator = { Authorization: `Bearer ${ADMIN_API_KEY}` };
const BROWSER_TEST_TIMEOUT_MS = 60_000;
const RANGE = '+25191777';

describeInChromium('The holds panel of the dashboard, in Chromium', () => {
  let fake: FakeTwilioServer;
  let service: TestApp;
  let baseUrl: string;
  let browser: Browser;

  const send = (phoneNumber: string, from: string) =>
    service
      .http()
      .post('/sms/send-verification')
      .set('X-Forwarded-For', from)
      .send({ phoneNumber, purpose: 'registration' })
      .expect(200);

  beforeAll(async () => {
    fake = await startFakeTwilio();
    service = await startTestApp({
      skipAccountFilter: true,
      env: messagingEnv(fake, {
        ADMIN_API_KEY,
        TRUST_PROXY: '127.0.0.1,::1',
        SMS_PUMPING_MIN_SENDS: '3',
        SMS_PUMPING_COUNTRY_MIN_RANGES: '2',
        SMS_PUMPING_COUNTRY_MIN_NETWORKS: '2',
        ALERT_EVALUATION_INTERVAL_MS: '86400000',
      }),
    });
    await service.app.listen({ port: 0, host: '127.0.0.1' });
    baseUrl = await service.app.getUrl();
    // A range held (one network sweeping it), then the country (a range each, a network each).
    for (let suffix = 0; suffix < 4; suffix += 1)
      await send(`${RANGE}000${suffix}`, '198.51.100.9');
    for (let range = 0; range < 4; range += 1) {
      await send(`+2519178${range}0001`, `203.0.${113 + range}.5`);
    }
    browser = await launchChromium();
  }, BROWSER_TEST_TIMEOUT_MS);
  afterAll(async () => {
    await browser?.close();
    await service?.close();
    await fake?.stop();
  });

  /** Uncaught exceptions and console errors of the pages opened, which must stay empty. */
  const problems: string[] = [];
  afterEach(() => {
    expect(problems.splice(0)).toEqual([]);
  });

  async function openPanel(): Promise<Page> {
    const page = await (await browser.newContext()).newPage();
    page.on('pageerror', (error) => problems.push(`uncaught: ${error.message}`));
    page.on('console', (message) => {
      // The refused DELETE of the second test is logged by Chromium as a failed resource.
      if (message.type() === 'error' && !message.text().includes('status of 503')) {
        problems.push(`console: ${message.text()}`);
      }
    });
    await page.goto(`${baseUrl}/admin`);
    await page.getByTestId('key-input').fill(ADMIN_API_KEY);
    await page.getByTestId('key-submit').click();
    await page.locator('[data-testid="dashboard"][data-state="ready"]').waitFor();
    return page;
  }

  const holdRow = (page: Page, id: string) =>
    page.locator(`[data-testid="hold-row"][data-hold-id="${id}"]`);
  const valueOf = (page: Page, id: string, testId: string) =>
    holdRow(page, id).getByTestId(testId).getAttribute('data-value');
  const textOf = async (page: Page, id: string, testId: string) =>
    (await holdRow(page, id).getByTestId(testId).textContent())?.trim();

  it(
    'shows a range and a country hold with their scope and spread, and lifts one with a click',
    async () => {
      const listed = await service.http().get('/admin/sms/holds').set(operator).expect(200);
      const range = listed.body.holds.find((hold: { scope: string }) => hold.scope === 'prefix');
      const country = listed.body.holds.find((hold: { scope: string }) => hold.scope === 'country');
      expect(range).toMatchObject({ label: `${RANGE}····`, ranges: null, networks: null });
      expect(country).toMatchObject({ label: 'ET', ranges: 3, networks: 3 });

      const page = await openPanel();
      try {
        await expect(page.getByTestId('hold-row').count()).resolves.toBe(2);
        expect(await textOf(page, range.id, 'hold-scope')).toBe('range');
        expect(await valueOf(page, range.id, 'hold-scope')).toBe('prefix');
        expect(await textOf(page, range.id, 'hold-label')).toBe(`${RANGE}····`);
        expect(await textOf(page, range.id, 'hold-ranges')).toBe('–');
        expect(await textOf(page, country.id, 'hold-scope')).toBe('country');
        expect(await valueOf(page, country.id, 'hold-ranges')).toBe('3');
        expect(await valueOf(page, country.id, 'hold-networks')).toBe('3');

        await holdRow(page, range.id).getByTestId('hold-lift').click();
        await holdRow(page, range.id).waitFor({ state: 'detached' });
        await expect(page.getByTestId('hold-row').count()).resolves.toBe(1);
        expect(await page.getByTestId('holds-count').getAttribute('data-value')).toBe('1');
        const after = await service.http().get('/admin/sms/holds').set(operator).expect(200);
        expect(after.body.holds.map((hold: { id: string }) => hold.id)).toEqual([country.id]);
      } finally {
        await page.context().close();
      }
    },
    BROWSER_TEST_TIMEOUT_MS,
  );

  it(
    'says so when the service refuses to lift, and keeps the hold listed',
    async () => {
      const listed = await service.http().get('/admin/sms/holds').set(operator).expect(200);
      const [hold] = listed.body.holds;
      const page = await openPanel();
      try {
        await page.route('**/admin/sms/holds/*', (route) =>
          route.request().method() === 'DELETE'
            ? route.fulfill({
                status: 503,
                contentType: 'application/json',
                body: JSON.stringify({
                  success: false,
                  error: 'SERVICE_UNAVAILABLE',
                  message: 'The service is temporarily unavailable.',
                }),
              })
            : route.continue(),
        );
        await holdRow(page, hold.id).getByTestId('hold-lift').click();
        const error = page.locator('[data-section-error="holds"]');
        await error.waitFor({ state: 'visible' });
        await expect(error.textContent()).resolves.toContain(`Could not lift ${hold.label}`);
        await expect(holdRow(page, hold.id).count()).resolves.toBe(1);
        await service.http().get('/admin/sms/holds').set(operator).expect(200, listed.body);
      } finally {
        await page.context().close();
      }
    },
    BROWSER_TEST_TIMEOUT_MS,
  );
});
