import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { Browser, ConsoleMessage, Locator, Page, chromium } from 'playwright-core';
import { AlertEvaluator } from '../../src/analytics/alerts/alert-evaluator.service';
import { DeliveryTrackingService } from '../../src/analytics/delivery/delivery-tracking.service';
import { EventRecorder } from '../../src/analytics/events/event-recorder';
import { Clock } from '../../src/common/clock';
import { FakeTwilioServer, MessageStatus } from '../fakes/fake-twilio-server';
import { FakeClock } from '../support/fake-clock';
import { RELAXED_LIMITS } from '../support/relaxed-limits';
import { TestApp, startTestApp } from '../support/test-app';
import { TEST_TWILIO } from '../support/twilio-test-credentials';

const ADMIN_API_KEY = 'dashboard-operator-key-0123456789abcdef';
const CHROMIUM = '/usr/bin/chromium';
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
const OUTPUT_DIRECTORY = join(__dirname, '..', '..', 'test-output');
const SCREENSHOT = join(OUTPUT_DIRECTORY, 'dashboard.png');
const DAY_MS = 86_400_000;
const HOUR_MS = 3_600_000;
const SEEDED_DAYS = 7;
/** A browser test takes a few seconds alone, and more on a machine busy with other suites. */
const BROWSER_TEST_TIMEOUT_MS = 60_000;

/** The browser globals the page callbacks below use; this file compiles without the DOM lib. */
interface PageElement {
  textContent: string | null;
  tagName: string;
  dataset: Record<string, string | undefined>;
}
declare const window: { cspViolations: string[]; Chart: { getChart(id: string): unknown } };
declare const document: {
  addEventListener(
    type: 'securitypolicyviolation',
    listener: (event: { violatedDirective: string; blockedURI: string }) => void,
  ): void;
};
declare const sessionStorage: { length: number; [key: string]: unknown };
declare const localStorage: { length: number };

const operator = { Authorization: `Bearer ${ADMIN_API_KEY}` };
const isoDate = (time: number) => new Date(time).toISOString().slice(0, 10);
const today = Date.parse(`${isoDate(Date.now())}T00:00:00Z`);
const firstDay = today - (SEEDED_DAYS - 1) * DAY_MS;

/** One day of traffic: codes sent to Ethiopia and the US, and what became of them. */
interface DayPlan {
  ethiopia: { sent: number; verified: number; undelivered: number };
  unitedStates: { sent: number; verified: number };
  providerOutage?: boolean;
  rateLimited?: boolean;
  /** Unverified US sends in quick succession, until pumping protection holds their range. */
  pumping?: boolean;
}

const PLAN: DayPlan[] = [
  { ethiopia: { sent: 6, verified: 5, undelivered: 0 }, unitedStates: { sent: 2, verified: 2 } },
  { ethiopia: { sent: 8, verified: 6, undelivered: 1 }, unitedStates: { sent: 1, verified: 1 } },
  {
    ethiopia: { sent: 5, verified: 4, undelivered: 0 },
    unitedStates: { sent: 2, verified: 1 },
    providerOutage: true,
  },
  { ethiopia: { sent: 9, verified: 8, undelivered: 1 }, unitedStates: { sent: 3, verified: 2 } },
  {
    ethiopia: { sent: 7, verified: 5, undelivered: 0 },
    unitedStates: { sent: 2, verified: 2 },
    rateLimited: true,
  },
  { ethiopia: { sent: 10, verified: 9, undelivered: 1 }, unitedStates: { sent: 1, verified: 1 } },
  {
    ethiopia: { sent: 8, verified: 6, undelivered: 1 },
    unitedStates: { sent: 1, verified: 1 },
    providerOutage: true,
    pumping: true,
  },
];

/**
 * Sends, signed status callbacks and verifications through the API, spread over SEEDED_DAYS, with
 * the alert rules judged at the end of each day as the evaluator's timer would.
 */
async function seedTraffic(service: TestApp, fake: FakeTwilioServer, clock: FakeClock) {
  let ethiopian = 0;
  let american = 0;
  const nextEthiopian = () => `+2519130${String((ethiopian += 1)).padStart(5, '0')}`;
  const nextAmerican = () => `+1212555${String((american += 1)).padStart(4, '0')}`;
  const purposes = ['login', 'registration', 'password_reset', 'two_factor'] as const;
  let sends = 0;

  const send = (phoneNumber: string, purpose: string) =>
    service.http().post('/sms/send-verification').send({ phoneNumber, purpose });
  const callback = async (phoneNumber: string, status: MessageStatus, errorCode?: number) => {
    const message = fake.lastMessageTo(phoneNumber)!;
    const request = fake.prepareStatusCallback(message.sid, status, { errorCode });
    await service
      .http()
      .post('/webhooks/twilio/status')
      .set(request.headers)
      .send(request.body)
      .expect(204);
  };
  const verify = async (phoneNumber: string, purpose: string) => {
    const code = /(\d{6})/.exec(fake.lastMessageTo(phoneNumber)!.body)![1];
    await service.http().post('/sms/verify-code').send({ phoneNumber, code, purpose }).expect(200);
  };
  /** One code's whole story; the clock moves on so the day's traffic spans several hours. */
  const story = async (phoneNumber: string, outcome: 'verified' | 'undelivered' | 'delivered') => {
    const purpose = purposes[(sends += 1) % purposes.length];
    await send(phoneNumber, purpose).expect(200);
    clock.advance(40_000);
    if (outcome === 'undelivered') await callback(phoneNumber, 'undelivered', 30003);
    else await callback(phoneNumber, 'delivered');
    if (outcome === 'verified') await verify(phoneNumber, purpose);
    clock.advance(25 * 60_000);
  };

  for (const [index, day] of PLAN.entries()) {
    clock.advance(firstDay + index * DAY_MS + 8 * HOUR_MS - clock.now().getTime());
    const { ethiopia, unitedStates } = day;
    for (let sent = 0; sent < ethiopia.sent; sent += 1) {
      const outcome =
        sent < ethiopia.verified
          ? 'verified'
          : sent < ethiopia.verified + ethiopia.undelivered
            ? 'undelivered'
            : 'delivered';
      await story(nextEthiopian(), outcome);
    }
    for (let sent = 0; sent < unitedStates.sent; sent += 1) {
      await story(nextAmerican(), sent < unitedStates.verified ? 'verified' : 'delivered');
    }
    if (day.providerOutage) {
      fake.failNext(1, { status: 503 });
      await send(nextEthiopian(), 'login').expect(503);
    }
    if (day.rateLimited) {
      const phoneNumber = nextEthiopian();
      for (let attempt = 0; attempt < 3; attempt += 1) await send(phoneNumber, 'login').expect(200);
      await send(phoneNumber, 'login').expect(429);
    }
    if (day.pumping) {
      // Held sends are answered like any other (and deliver nothing): the hold list tells.
      let held = false;
      for (let attempt = 0; attempt < 12 && !held; attempt += 1) {
        clock.advance(60_000);
        await send(nextAmerican(), 'registration').expect(200);
        const holds = await service.http().get('/admin/sms/holds').set(operator).expect(200);
        held = holds.body.holds.length > 0;
      }
      expect(held).toBe(true);
    }
    await service.app.get(EventRecorder).flush();
    await service.app.get(AlertEvaluator).evaluate();
  }
  // Delivered messages get Twilio's real price, so the costs mix real prices and estimates.
  await service.app.get(DeliveryTrackingService).fetchDuePrices();
  await service.app.get(EventRecorder).flush();
}

/** The text shown in an element and the raw value the page keeps beside it. */
async function shown(element: Locator): Promise<{ text: string; value: string | undefined }> {
  return element.evaluate((node: PageElement) => ({
    text: (node.textContent ?? '').trim(),
    value: node.dataset.value,
  }));
}

type Kind = 'count' | 'percent' | 'milliseconds' | 'cost' | 'text';

/** The unit of each alert rule's value and threshold (AlertDto in Swagger). */
const ALERT_UNITS: Record<string, Kind> = {
  failure_rate: 'percent',
  response_time: 'milliseconds',
  rate_limit_violations: 'count',
  daily_cost: 'cost',
  webhook_failures: 'count',
};

const EMPTY = '–';

/** The element shows `expected` (formatted for people) and keeps it as its raw value. */
async function expectShows(element: Locator, expected: unknown, kind: Kind): Promise<void> {
  const { text, value } = await shown(element);
  const label = await element.evaluate((node: PageElement) => node.dataset.testid ?? node.tagName);
  if (expected === null || expected === undefined) {
    expect({ label, text, value }).toEqual({ label, text: EMPTY, value: '' });
    return;
  }
  expect({ label, value }).toEqual({ label, value: String(expected) });
  if (kind === 'text') {
    expect({ label, text }).toEqual({ label, text: String(expected) });
    return;
  }
  const number = Number(text.replace(/[,%]|ms/g, '').trim());
  const tolerance = { count: 0, milliseconds: 0, percent: 0.05, cost: 0.00005 }[kind];
  const target = kind === 'percent' ? Number(expected) * 100 : Number(expected);
  expect({ label, text, off: Math.abs(number - target) <= tolerance + 1e-9 }).toEqual({
    label,
    text,
    off: true,
  });
}

/** The operator routes' answers, compared field by field with what the page shows. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Json = any;

interface ApiAnswers {
  summary: Json;
  rates: Json;
  costs: Json;
  countries: Json;
  failures: Json;
  holds: Json;
  alerts: { status: number; body: Json };
}

async function askApi(service: TestApp, query: string): Promise<ApiAnswers> {
  const get = async (path: string) =>
    (await service.http().get(path).set(operator).expect(200)).body;
  const alerts = await service.http().get('/analytics/sms/alerts').set(operator);
  return {
    summary: await get(`/analytics/sms/summary?${query}`),
    rates: await get(`/analytics/sms/success-rates?${query}`),
    costs: await get(`/analytics/sms/costs?${query}`),
    countries: await get(`/analytics/sms/countries?${query}`),
    failures: await get(`/analytics/sms/failures?${query}`),
    holds: await get('/admin/sms/holds'),
    alerts: { status: alerts.status, body: alerts.body },
  };
}

/**
 * Console errors, uncaught exceptions and CSP violations on a page. `expected` lets a test allow
 * the "Failed to load resource" line Chromium logs for an HTTP error it provoked on purpose.
 */
function watchForProblems(
  page: Page,
  expected: (message: ConsoleMessage) => boolean = () => false,
) {
  const problems: string[] = [];
  page.on('console', (message) => {
    if (message.type() === 'error' && !expected(message)) {
      problems.push(`console: ${message.text()} (${message.location().url})`);
    }
  });
  page.on('pageerror', (error) => problems.push(`uncaught: ${error.message}`));
  return {
    async all(): Promise<string[]> {
      const violations = await page.evaluate(() => window.cspViolations);
      return [...problems, ...violations.map((violation) => `CSP: ${violation}`)];
    },
  };
}

/** Injected by the browser driver, so the page's own CSP does not apply to it. */
function recordCspViolations(): void {
  const violations: string[] = [];
  window.cspViolations = violations;
  document.addEventListener('securitypolicyviolation', (event) =>
    violations.push(`${event.violatedDirective} blocked ${event.blockedURI || 'inline code'}`),
  );
}

const httpError = (status: number, path: string) => (message: ConsoleMessage) =>
  message.text().includes(`status of ${status}`) && message.location().url.includes(path);

describe('Operator dashboard (GET /admin)', () => {
  let fake: FakeTwilioServer;
  let service: TestApp;
  let baseUrl: string;
  const clock = new FakeClock(firstDay);

  beforeAll(async () => {
    fake = await FakeTwilioServer.start({
      accountSid: TEST_TWILIO.accountSid,
      authToken: TEST_TWILIO.authToken,
    });
    service = await startTestApp({
      skipAccountFilter: true,
      env: {
        ...RELAXED_LIMITS,
        SMS_RATE_LIMIT_MAX_ATTEMPTS: '3',
        SMS_PUMPING_MIN_SENDS: '6',
        SMS_PROVIDER: 'twilio-messaging',
        TWILIO_ACCOUNT_SID: TEST_TWILIO.accountSid,
        TWILIO_AUTH_TOKEN: TEST_TWILIO.authToken,
        TWILIO_FROM: 'Brand',
        TWILIO_API_BASE_URL: fake.url,
        PUBLIC_BASE_URL: 'https://sms.example.com',
        TWILIO_PRICE_FETCH_DELAY_MS: '0',
        SMS_PRICES: 'ET:0.05,US:0.0079',
        ALERT_MIN_SENDS: '3',
        ALERT_DAILY_COST: '0.48',
        // Evaluated by the seeding only, so the alerts cannot change while the page is compared.
        ALERT_EVALUATION_INTERVAL_MS: '86400000',
        ADMIN_API_KEY,
      },
      override: (builder) => builder.overrideProvider(Clock).useValue(clock),
    });
    await service.app.listen({ port: 0, host: '127.0.0.1' });
    baseUrl = await service.app.getUrl();
    await seedTraffic(service, fake, clock);
  }, 120_000);

  afterAll(async () => {
    await service?.close();
    await fake?.stop();
  });

  describe('serving', () => {
    it('serves the page without a token, with the CSP, and links versioned assets', async () => {
      const response = await service.http().get('/admin').expect(200);
      expect(response.headers['content-type']).toBe('text/html; charset=utf-8');
      expect(response.headers['cache-control']).toBe('no-cache');
      expect(response.headers['content-security-policy']).toContain("script-src 'self'");
      expect(response.text).not.toMatch(/<script>|<script(?![^>]*\bsrc=)[^>]*>/);
      const links = [...response.text.matchAll(/"\/admin\/assets\/([\w.]+)\?v=(\w+)"/g)];
      expect(links.map(([, name]) => name).sort()).toEqual([
        'chart.js',
        'dashboard.css',
        'dashboard.js',
      ]);
      await service.http().get('/admin').set('If-None-Match', response.headers.etag).expect(304);
    });

    it.each([
      ['dashboard.js', 'text/javascript; charset=utf-8'],
      ['dashboard.css', 'text/css; charset=utf-8'],
      ['chart.js', 'text/javascript; charset=utf-8'],
    ])('serves %s as %s, immutable only under its current version', async (name, type) => {
      const page = await service.http().get('/admin').expect(200);
      const version = new RegExp(`/admin/assets/${name.replace('.', '\\.')}\\?v=(\\w+)`).exec(
        page.text,
      )![1];

      const current = await service.http().get(`/admin/assets/${name}?v=${version}`).expect(200);
      expect(current.headers['content-type']).toBe(type);
      expect(current.headers['cache-control']).toBe('public, max-age=31536000, immutable');
      expect(current.headers.etag).toBe(`"${version}"`);

      const unversioned = await service.http().get(`/admin/assets/${name}`).expect(200);
      expect(unversioned.headers['cache-control']).toBe('no-cache');
      const stale = await service.http().get(`/admin/assets/${name}?v=0000`).expect(200);
      expect(stale.headers['cache-control']).toBe('no-cache');
      await service
        .http()
        .get(`/admin/assets/${name}`)
        .set('If-None-Match', `"${version}"`)
        .expect(304);
    });

    it('serves Chart.js from the installed package, and keeps the dashboard out of Swagger', async () => {
      const chart = await service.http().get('/admin/assets/chart.js').expect(200);
      const installed = JSON.parse(
        readFileSync(join(dirname(require.resolve('chart.js')), '..', 'package.json'), 'utf8'),
      );
      expect(chart.text).toContain(`Chart.js v${installed.version}`);
      const swagger = await service.http().get('/docs-json').expect(200);
      const documented = Object.keys(swagger.body.paths);
      expect(documented).toContain('/admin/sms/holds');
      expect(
        documented.filter((path) => path === '/admin' || path.startsWith('/admin/assets')),
      ).toEqual([]);
    });
  });

  const chromiumMissing = !existsSync(CHROMIUM);
  if (chromiumMissing) {
    // CI installs it (.ci/run); a developer machine without it still runs the tests above.
    console.warn(`Skipping the dashboard browser tests: ${CHROMIUM} is missing.`);
  }
  const describeInBrowser = chromiumMissing ? describe.skip : describe;

  describeInBrowser(`in Chromium (${CHROMIUM})`, () => {
    let browser: Browser;

    beforeAll(async () => {
      browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_FLAGS });
    }, BROWSER_TEST_TIMEOUT_MS);
    afterAll(async () => {
      await browser?.close();
    });

    async function openDashboard() {
      const context = await browser.newContext({ viewport: { width: 1400, height: 900 } });
      const page = await context.newPage();
      await page.addInitScript(recordCspViolations);
      return { context, page };
    }

    async function signIn(page: Page, key: string) {
      await page.goto(`${baseUrl}/admin`);
      await page.getByTestId('key-input').fill(key);
      await page.getByTestId('key-submit').click();
    }

    it(
      'shows the numbers the operator routes answer for the chosen range',
      async () => {
        const { context, page } = await openDashboard();
        const problems = watchForProblems(page);
        try {
          await signIn(page, ADMIN_API_KEY);
          await page.getByTestId('range-from').fill(isoDate(firstDay));
          await page.getByTestId('range-to').fill(isoDate(today));
          await page.getByTestId('group-by').selectOption('day');
          await page.getByTestId('apply').click();

          const query = new URLSearchParams({
            from: new Date(firstDay).toISOString(),
            to: new Date(today + DAY_MS).toISOString(),
            groupBy: 'day',
          }).toString();
          await page
            .locator(`[data-testid="dashboard"][data-state="ready"][data-query="${query}"]`)
            .waitFor();
          const answers = await askApi(service, query);
          const { summary, rates, costs, countries, failures, holds } = answers;
          // Seeded traffic of every kind, or the comparisons below would prove little.
          expect(summary.counts.sent).toBeGreaterThan(0);
          expect(summary.counts.failed + summary.counts.rateLimited).toBeGreaterThan(0);
          expect(countries.countries.length).toBeGreaterThan(1);
          expect(failures.topErrors.length).toBeGreaterThan(0);
          expect(holds.holds.length).toBeGreaterThan(0);
          expect(answers.alerts.status).toBe(200);
          const { active, recent } = answers.alerts.body;
          expect(active.length).toBeGreaterThan(0);
          expect(recent.length).toBeGreaterThan(0);

          const byTestId = (id: string, scope: Page | Locator = page) => scope.getByTestId(id);
          const cards: [string, unknown, Kind][] = [
            ['summary-sent', summary.counts.sent, 'count'],
            ['summary-delivered', summary.counts.delivered, 'count'],
            ['summary-undelivered', summary.counts.undelivered, 'count'],
            ['summary-verified', summary.counts.verified, 'count'],
            ['summary-expired', summary.counts.expired, 'count'],
            ['summary-failed', summary.counts.failed, 'count'],
            ['summary-rate-limited', summary.counts.rateLimited, 'count'],
            ['summary-held', summary.counts.held, 'count'],
            ['summary-suppressed', summary.counts.suppressed, 'count'],
            ['summary-delivery-rate', summary.deliveryRate, 'percent'],
            ['summary-verification-rate', summary.verificationRate, 'percent'],
            ['summary-p50', summary.responseTimeMs.p50, 'milliseconds'],
            ['summary-p95', summary.responseTimeMs.p95, 'milliseconds'],
            ['summary-average', summary.responseTimeMs.average, 'milliseconds'],
            ['summary-cost-total', summary.cost.total, 'cost'],
            ['summary-cost-source', summary.cost.source, 'text'],
            ['summary-cost-per-verified', summary.cost.perVerifiedUser, 'cost'],
            ['costs-total', costs.total, 'cost'],
            ['costs-source', costs.source, 'text'],
            ['holds-count', holds.holds.length, 'count'],
          ];
          for (const [testId, expected, kind] of cards) {
            await expectShows(byTestId(testId), expected, kind);
          }

          const rateRows = page.getByTestId('rates-row');
          expect(await rateRows.count()).toBe(rates.overTime.length);
          for (const point of rates.overTime) {
            const row = page.locator(`[data-testid="rates-row"][data-period="${point.period}"]`);
            await expectShows(byTestId('rates-sent', row), point.sent, 'count');
            await expectShows(byTestId('rates-delivered', row), point.delivered, 'count');
            await expectShows(byTestId('rates-verified', row), point.verified, 'count');
            await expectShows(byTestId('rates-delivery-rate', row), point.deliveryRate, 'percent');
            await expectShows(
              byTestId('rates-verification-rate', row),
              point.verificationRate,
              'percent',
            );
          }
          expect(await page.getByTestId('purpose-row').count()).toBe(rates.perPurpose.length);
          for (const purpose of rates.perPurpose) {
            const row = page.locator(
              `[data-testid="purpose-row"][data-purpose="${purpose.purpose}"]`,
            );
            await expectShows(byTestId('purpose-sent', row), purpose.sent, 'count');
            await expectShows(
              byTestId('purpose-verification-rate', row),
              purpose.verificationRate,
              'percent',
            );
          }

          expect(await page.getByTestId('spend-row').count()).toBe(costs.overTime.length);
          for (const point of costs.overTime) {
            const row = page.locator(`[data-testid="spend-row"][data-period="${point.period}"]`);
            await expectShows(byTestId('spend-sent', row), point.sent, 'count');
            await expectShows(byTestId('spend-cost', row), point.cost, 'cost');
          }

          expect(await page.getByTestId('country-row').count()).toBe(countries.countries.length);
          for (const country of countries.countries) {
            const row = page.locator(
              `[data-testid="country-row"][data-country="${country.country}"]`,
            );
            const perVerified = costs.perCountry.find(
              (entry: { country: string }) => entry.country === country.country,
            )?.perVerifiedUser;
            await expectShows(byTestId('country-sent', row), country.sent, 'count');
            await expectShows(byTestId('country-delivered', row), country.delivered, 'count');
            await expectShows(
              byTestId('country-delivery-rate', row),
              country.deliveryRate,
              'percent',
            );
            await expectShows(byTestId('country-verified', row), country.verified, 'count');
            await expectShows(
              byTestId('country-conversion', row),
              country.verificationRate,
              'percent',
            );
            await expectShows(byTestId('country-cost', row), country.cost, 'cost');
            await expectShows(byTestId('country-cost-per-verified', row), perVerified, 'cost');
            expect((await shown(byTestId('country-held', row))).value).toBe(String(country.held));
            if (country.held) {
              await expect(byTestId('country-held', row).textContent()).resolves.toContain(
                country.holdMode,
              );
            }
          }

          const errorRows = page.getByTestId('error-row');
          expect(await errorRows.count()).toBe(failures.topErrors.length);
          for (const [index, error] of failures.topErrors.entries()) {
            const row = errorRows.nth(index);
            await expectShows(byTestId('error-code', row), error.errorCode, 'text');
            await expectShows(byTestId('error-status', row), error.status, 'text');
            await expectShows(byTestId('error-count', row), error.count, 'count');
            await expectShows(byTestId('error-meaning', row), error.meaning, 'text');
          }
          const recentRows = page.getByTestId('recent-row');
          expect(await recentRows.count()).toBe(failures.recent.length);
          for (const [index, failure] of failures.recent.entries()) {
            const row = recentRows.nth(index);
            expect(await row.getAttribute('data-occurred-at')).toBe(failure.occurredAt);
            await expectShows(byTestId('recent-code', row), failure.errorCode, 'text');
            await expectShows(byTestId('recent-country', row), failure.country, 'text');
          }

          const holdRows = page.getByTestId('hold-row');
          expect(await holdRows.count()).toBe(holds.holds.length);
          for (const hold of holds.holds) {
            const row = page.locator(`[data-testid="hold-row"][data-hold-id="${hold.id}"]`);
            await expectShows(byTestId('hold-label', row), hold.label, 'text');
            await expectShows(byTestId('hold-mode', row), hold.mode, 'text');
            await expectShows(byTestId('hold-sends', row), hold.sends, 'count');
            await expectShows(byTestId('hold-verified', row), hold.verified, 'count');
            await expectShows(byTestId('hold-conversion', row), hold.conversion, 'percent');
          }

          await expectShows(byTestId('alerts-active-count'), active.length, 'count');
          await expectShows(byTestId('alerts-recent-count'), recent.length, 'count');
          for (const alert of [...active, ...recent]) {
            const row = page.locator(`[data-testid="alert-row"][data-alert-id="${alert.id}"]`);
            const unit = ALERT_UNITS[alert.rule as string] ?? 'text';
            expect(await row.getAttribute('data-state')).toBe(
              alert.resolvedAt === null ? 'active' : 'resolved',
            );
            await expectShows(byTestId('alert-value', row), alert.value, unit);
            await expectShows(byTestId('alert-threshold', row), alert.threshold, unit);
            await expectShows(byTestId('alert-message', row), alert.message, 'text');
            expect((await shown(byTestId('alert-started', row))).value).toBe(alert.startedAt);
            expect((await shown(byTestId('alert-resolved', row))).value).toBe(
              alert.resolvedAt ?? '',
            );
          }

          // Both charts were drawn by the Chart.js this service serves.
          expect(
            await page.evaluate(() =>
              ['rates-chart', 'spend-chart'].map((id) => Boolean(window.Chart.getChart(id))),
            ),
          ).toEqual([true, true]);

          mkdirSync(OUTPUT_DIRECTORY, { recursive: true });
          await page.screenshot({ path: SCREENSHOT, fullPage: true });
          expect(await problems.all()).toEqual([]);
        } finally {
          await context.close();
        }
      },
      BROWSER_TEST_TIMEOUT_MS,
    );

    it(
      'keeps the key in session storage only, never in the URL',
      async () => {
        const { context, page } = await openDashboard();
        const problems = watchForProblems(page);
        try {
          const requests: string[] = [];
          page.on('request', (request) => requests.push(request.url()));
          await signIn(page, ADMIN_API_KEY);
          await page.locator('[data-testid="dashboard"][data-state="ready"]').waitFor();
          expect(page.url()).toBe(`${baseUrl}/admin`);
          expect(requests.filter((url) => url.includes(ADMIN_API_KEY))).toEqual([]);
          expect(
            await page.evaluate(() => ({
              session: Object.values({ ...sessionStorage }),
              local: localStorage.length,
            })),
          ).toEqual({ session: [ADMIN_API_KEY], local: 0 });

          await page.getByTestId('forget-key').click();
          await expect(page.getByTestId('key-section').isVisible()).resolves.toBe(true);
          expect(await page.evaluate(() => sessionStorage.length)).toBe(0);
          expect(await problems.all()).toEqual([]);
        } finally {
          await context.close();
        }
      },
      BROWSER_TEST_TIMEOUT_MS,
    );

    it(
      'says the key is wrong when the service refuses it',
      async () => {
        const { context, page } = await openDashboard();
        const problems = watchForProblems(page, httpError(401, '/'));
        try {
          await signIn(page, 'not-the-admin-key');
          const error = page.getByTestId('key-error');
          await error.waitFor();
          await expect(error.textContent()).resolves.toMatch(/wrong key/i);
          await expect(page.getByTestId('dashboard').isVisible()).resolves.toBe(false);
          expect(await page.evaluate(() => sessionStorage.length)).toBe(0);
          expect(await problems.all()).toEqual([]);
        } finally {
          await context.close();
        }
      },
      BROWSER_TEST_TIMEOUT_MS,
    );

    it(
      'copes with a service that has no alerts route (404)',
      async () => {
        const { context, page } = await openDashboard();
        const problems = watchForProblems(page, httpError(404, '/analytics/sms/alerts'));
        try {
          await page.route('**/analytics/sms/alerts', (route) =>
            route.fulfill({
              status: 404,
              contentType: 'application/json',
              body: JSON.stringify({
                success: false,
                error: 'NOT_FOUND',
                message: 'Cannot GET /analytics/sms/alerts',
              }),
            }),
          );
          await signIn(page, ADMIN_API_KEY);
          await page.locator('[data-testid="dashboard"][data-state="ready"]').waitFor();
          await expect(page.getByTestId('alerts-unavailable').isVisible()).resolves.toBe(true);
          await expect(page.getByTestId('alerts-table').isVisible()).resolves.toBe(false);
          await expect(page.getByTestId('error-banner').isVisible()).resolves.toBe(false);
          expect(await problems.all()).toEqual([]);
        } finally {
          await context.close();
        }
      },
      BROWSER_TEST_TIMEOUT_MS,
    );

    it(
      'says so when the service cannot be reached',
      async () => {
        const { context, page } = await openDashboard();
        const problems = watchForProblems(page, (message) =>
          message.text().includes('net::ERR_FAILED'),
        );
        try {
          await page.route('**/analytics/sms/**', (route) => route.abort('failed'));
          await page.route('**/admin/sms/**', (route) => route.abort('failed'));
          await signIn(page, ADMIN_API_KEY);
          await page.locator('[data-testid="dashboard"][data-state="partial"]').waitFor();
          await expect(page.getByTestId('error-banner').textContent()).resolves.toMatch(
            /network error/i,
          );
          // An empty table would read as "no traffic": a failed report shows only its error.
          await expect(page.getByTestId('countries-table').isVisible()).resolves.toBe(false);
          await expect(
            page.locator('[data-section-error="countries"]').textContent(),
          ).resolves.toMatch(/network error/i);
          expect(await problems.all()).toEqual([]);
        } finally {
          await context.close();
        }
      },
      BROWSER_TEST_TIMEOUT_MS,
    );
  });
});
