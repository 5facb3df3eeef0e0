import { mkdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { Browser, ConsoleMessage, Locator, Page } from 'playwright-core';
import { describeInChromium, launchChromium } from '../support/chromium';
import { AlertEvaluator } from '../../src/analytics/alerts/alert-evaluator.service';
import { DeliveryTrackingService } from '../../src/analytics/delivery/delivery-tracking.service';
import { EventRecorder } from '../../src/analytics/events/event-recorder';
import { Clock } from '../../src/common/clock';
import { ExpirySweeper } from '../../src/sms/expiry-sweeper';
import { FakeTwilioServer, MessageStatus } from '../fakes/fake-twilio-server';
import { FakeClock } from '../support/fake-clock';
import { RELAXED_LIMITS } from '../support/relaxed-limits';
import { TestApp, startTestApp } from '../support/test-app';
import { TEST_TWILIO } from '../support/twilio-test-credentials';

const ADMIN_API_KEY = 'dashboard-operator-key-0123456789abcdef';
const OUTPUT_DIRECTORY = join(__dirname, '..', '..', 'test-output');
const SCREENSHOT = join(OUTPUT_DIRECTORY, 'dashboard.png');
const DAY_MS = 86_400_000;
const HOUR_MS = 3_600_000;
const SEEDED_DAYS = 7;
const TEST_NUMBER = '+251911000001';
const TEST_LOGIN_NUMBER = '+251911000002';
/** A browser test takes a few seconds alone, and more on a machine busy with other suites. */
const BROWSER_TEST_TIMEOUT_MS = 60_000;

/** The browser globals the page callbacks below use; this file compiles without the DOM lib. */
interface PageElement {
  textContent: string | null;
  tagName: string;
  dataset: Record<string, string | undefined>;
}
interface DrawnChart {
  config: { type: string };
  data: { labels: unknown[]; datasets: { data: (number | null)[] }[] };
}
declare const window: {
  cspViolations: string[];
  Chart: { getChart(id: string): DrawnChart | undefined };
};
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
  /**
   * Someone guessing a code until its attempts run out, sends to a number of a country that is
   * not served, a forged status callback, and test numbers (one refused by login-sms).
   */
  attack?: boolean;
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
    attack: true,
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
    if (day.attack) {
      const victim = nextEthiopian();
      await send(victim, 'login').expect(200);
      const code = /(\d{6})/.exec(fake.lastMessageTo(victim)!.body)![1];
      const wrong = code === '000000' ? '111111' : '000000';
      for (const expected of [200, 200, 429]) {
        await service
          .http()
          .post('/sms/verify-code')
          .send({ phoneNumber: victim, code: wrong, purpose: 'login' })
          .expect(expected);
      }
      await send('+447781123456', 'registration').expect(400);
      await service
        .http()
        .post('/webhooks/twilio/status')
        .set('Content-Type', 'application/x-www-form-urlencoded')
        .send('MessageSid=SM0123456789abcdef0123456789abcdef&MessageStatus=delivered')
        .expect(403);
      await send(TEST_NUMBER, 'registration').expect(200);
      await service
        .http()
        .post('/sms/verify-code')
        .send({ phoneNumber: TEST_NUMBER, code: '123456', purpose: 'registration' })
        .expect(200);
      await send(TEST_LOGIN_NUMBER, 'login').expect(200);
      await service
        .http()
        .post('/auth/login-sms')
        .send({ phoneNumber: TEST_LOGIN_NUMBER, code: '654321' })
        .expect(401);
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
  // Every unused code has expired by now: recorded here rather than by the sweep's timer while
  // the page is being compared.
  await service.app.get(ExpirySweeper).sweepOnce();
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
  security_incidents: 'count',
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
  // Amounts carry their currency, percentiles read "≤ 14 ms" (approximate).
  const number = Number(text.replace(/[,%≤]|ms|\b[A-Z]{3}\b/g, '').trim());
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
  security: Json;
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
    security: await get(`/analytics/sms/security?${query}`),
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
        SMS_TEST_NUMBERS: `${TEST_NUMBER}:123456,${TEST_LOGIN_NUMBER}:654321`,
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

  describeInChromium('in Chromium', () => {
    let browser: Browser;

    beforeAll(async () => {
      browser = await launchChromium();
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
          const { summary, rates, costs, countries, failures, security, holds } = answers;
          // Seeded traffic of every kind, or the comparisons below would prove little.
          expect(summary.counts.sent).toBeGreaterThan(0);
          expect(summary.counts.failed + summary.counts.rateLimited).toBeGreaterThan(0);
          expect(summary.counts.expired).toBeGreaterThan(0);
          expect(summary.testNumbers.sent).toBeGreaterThan(0);
          expect(summary.counts).toMatchObject({
            wrongCodes: 2,
            refused: 2, // the other country's number, and the test number's refused login
            securityIncidents: 2, // the spent attempts, the forged callback
          });
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
            ['summary-refused', summary.counts.refused, 'count'],
            ['summary-wrong-codes', summary.counts.wrongCodes, 'count'],
            ['summary-security-incidents', summary.counts.securityIncidents, 'count'],
            ['summary-test-sent', summary.testNumbers.sent, 'count'],
            ['summary-test-verified', summary.testNumbers.verified, 'count'],
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
            ['security-total', security.total, 'count'],
            ['security-wrong-codes', security.wrongCodes, 'count'],
          ];
          for (const [testId, expected, kind] of cards) {
            await expectShows(byTestId(testId), expected, kind);
          }
          // Amounts say their currency; percentiles say they are read from a histogram.
          for (const testId of ['summary-cost-total', 'costs-total']) {
            await expect(byTestId(testId).textContent()).resolves.toMatch(/ USD$/);
          }
          for (const testId of ['summary-p50', 'summary-p95']) {
            await expect(byTestId(testId).textContent()).resolves.toMatch(/^≤ \d+ ms$/);
          }
          await expect(byTestId('summary-percentile-note').textContent()).resolves.toMatch(
            /approximate/,
          );

          // Every refusal by the layer that refused it, as the summary splits them.
          const layerRows = page.getByTestId('layer-row');
          const layers = [
            ...summary.rateLimitedByLayer.map((row: Json) => ['rateLimitedByLayer', row]),
            ...summary.heldByLayer.map((row: Json) => ['heldByLayer', row]),
            ...summary.refusedByLayer.map((row: Json) => ['refusedByLayer', row]),
          ];
          expect(layers.length).toBeGreaterThan(2);
          expect(await layerRows.count()).toBe(layers.length);
          for (const [group, { layer, count }] of layers) {
            const row = page.locator(
              `[data-testid="layer-row"][data-group="${group}"][data-layer="${layer}"]`,
            );
            await expectShows(byTestId('layer-count', row), count, 'count');
          }
          expect(
            summary.rateLimitedByLayer.reduce((total: number, row: Json) => total + row.count, 0),
          ).toBe(summary.counts.rateLimited);

          // Security incidents by kind.
          expect(await page.getByTestId('security-row').count()).toBe(security.byKind.length);
          for (const kind of security.byKind) {
            const row = page.locator(`[data-testid="security-row"][data-kind="${kind.kind}"]`);
            await expectShows(byTestId('security-count', row), kind.count, 'count');
            await expectShows(byTestId('security-meaning', row), kind.meaning, 'text');
          }
          expect(security.total).toBe(summary.counts.securityIncidents);

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
            await expectShows(byTestId('country-refused', row), country.refused, 'count');
            expect((await shown(byTestId('country-held', row))).value).toBe(String(country.held));
            if (country.held) {
              await expect(byTestId('country-held', row).textContent()).resolves.toContain(
                country.holdMode,
              );
            }
          }

          const errorRows = page.getByTestId('error-row');
          expect(await errorRows.count()).toBe(failures.topErrors.length);
          // The guessing attack shows among the failures.
          expect(failures.topErrors).toEqual(
            expect.arrayContaining([
              expect.objectContaining({ errorCode: 'WRONG_CODE', status: 'wrong_code', count: 2 }),
              expect.objectContaining({
                errorCode: 'VERIFICATION_ATTEMPTS_EXCEEDED',
                status: 'security',
                count: 1,
              }),
            ]),
          );
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
      'groups by hour over one day and by day over a month, and never draws 720 points',
      async () => {
        const { context, page } = await openDashboard();
        const problems = watchForProblems(page);
        try {
          await signIn(page, ADMIN_API_KEY);
          await page.locator('[data-testid="dashboard"][data-state="ready"]').waitFor();
          const apply = async (from: number, to: number, groupBy: string) => {
            await page.getByTestId('range-from').fill(isoDate(from));
            await page.getByTestId('range-to').fill(isoDate(to));
            await page.getByTestId('group-by').selectOption(groupBy);
            await page.getByTestId('apply').click();
          };
          const drawn = () =>
            page.evaluate(() => {
              const chart = window.Chart.getChart('rates-chart')!;
              return {
                type: chart.config.type,
                periods: chart.data.labels.length,
                withData: chart.data.datasets[1].data.filter((value) => value !== null).length,
              };
            });
          const readyFor = (from: number, to: number, groupBy: string) =>
            page
              .locator(
                `[data-testid="dashboard"][data-state="ready"][data-query*="groupBy=${groupBy}"]` +
                  `[data-query*="from=${encodeURIComponent(new Date(from).toISOString())}"]` +
                  `[data-query*="to=${encodeURIComponent(new Date(to + DAY_MS).toISOString())}"]`,
              )
              .waitFor();

          // The last seeded day alone: by hour, its traffic spread over several bars.
          await apply(today, today, 'auto');
          await readyFor(today, today, 'hour');
          const day = await drawn();
          expect(day).toMatchObject({ type: 'bar', periods: 24 });
          expect(day.withData).toBeGreaterThan(1);

          const monthAgo = today - 29 * DAY_MS;
          await apply(monthAgo, today, 'auto');
          await readyFor(monthAgo, today, 'day');
          expect(await drawn()).toMatchObject({ type: 'bar', periods: 30, withData: SEEDED_DAYS });

          // By hour, a month would be 720 points: refused, with a note, and nothing redrawn.
          await apply(monthAgo, today, 'hour');
          await expect(page.getByTestId('range-note').textContent()).resolves.toMatch(/720 points/);
          expect((await drawn()).periods).toBe(30);
          expect(await problems.all()).toEqual([]);
        } finally {
          await context.close();
        }
      },
      BROWSER_TEST_TIMEOUT_MS,
    );

    describe('on a service sending through Twilio Verify', () => {
      let verifyFake: FakeTwilioServer;
      let verifyService: TestApp;
      let verifyUrl: string;

      beforeAll(async () => {
        verifyFake = await FakeTwilioServer.start({
          accountSid: TEST_TWILIO.accountSid,
          authToken: TEST_TWILIO.authToken,
        });
        verifyService = await startTestApp({
          skipAccountFilter: true,
          env: {
            ...RELAXED_LIMITS,
            SMS_PROVIDER: 'twilio-verify',
            TWILIO_ACCOUNT_SID: TEST_TWILIO.accountSid,
            TWILIO_AUTH_TOKEN: TEST_TWILIO.authToken,
            TWILIO_VERIFY_SERVICE_SID: TEST_TWILIO.verifyServiceSid,
            TWILIO_API_BASE_URL: verifyFake.url,
            SMS_COUNTRY_LOCALES: 'ET:en',
            ADMIN_API_KEY,
          },
        });
        await verifyService.app.listen({ port: 0, host: '127.0.0.1' });
        verifyUrl = await verifyService.app.getUrl();
        for (const phoneNumber of ['+251913900001', '+251913900002']) {
          await verifyService
            .http()
            .post('/sms/send-verification')
            .send({ phoneNumber, purpose: 'login' })
            .expect(200);
        }
        await verifyService
          .http()
          .post('/sms/verify-code')
          .send({
            phoneNumber: '+251913900001',
            code: verifyFake.codeFor('+251913900001'),
            purpose: 'login',
          })
          .expect(200);
        await verifyService.app.get(EventRecorder).flush();
      }, 60_000);
      afterAll(async () => {
        await verifyService?.close();
        await verifyFake?.stop();
      });

      it(
        'says delivery is "not tracked" rather than 0 % or empty',
        async () => {
          const { context, page } = await openDashboard();
          const problems = watchForProblems(page);
          try {
            await page.goto(`${verifyUrl}/admin`);
            await page.getByTestId('key-input').fill(ADMIN_API_KEY);
            await page.getByTestId('key-submit').click();
            await page.locator('[data-testid="dashboard"][data-state="ready"]').waitFor();
            await expect(page.getByTestId('summary-delivery-rate').textContent()).resolves.toBe(
              'not tracked',
            );
            await expect(page.getByTestId('summary-delivery-hint').textContent()).resolves.toMatch(
              /Twilio Verify reports no delivery per message \(2 sends\)/,
            );
            const country = page.locator('[data-testid="country-row"][data-country="ET"]');
            await expect(country.getByTestId('country-delivery-rate').textContent()).resolves.toBe(
              'not tracked',
            );
            await expectShows(page.getByTestId('summary-verification-rate'), 0.5, 'percent');
            expect(await problems.all()).toEqual([]);
          } finally {
            await context.close();
          }
        },
        BROWSER_TEST_TIMEOUT_MS,
      );
    });

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
