import { Browser } from 'playwright-core';
import {
  REMOTE_HOST,
  describeInChromium,
  launchChromium,
  watchPageProblems,
} from '../support/chromium';
import { TestApp, startTestApp } from '../support/test-app';

/**
 * Swagger UI and the dashboard are pages with their own scripts. Over plain HTTP on an address
 * that is not localhost, a CSP with `upgrade-insecure-requests` makes the browser fetch those
 * scripts over HTTPS, where nothing answers, and the pages stay blank. The directive belongs only
 * to pages reached over HTTPS.
 */

const ADMIN_API_KEY = 'pages-operator-key-0123456789abcdef0123';

describe('Pages served over plain HTTP and over HTTPS', () => {
  let service: TestApp;
  let port: number;

  beforeAll(async () => {
    service = await startTestApp({
      // The proxy in front is this machine; it says which scheme the client used.
      env: { ADMIN_API_KEY, TRUST_PROXY: '127.0.0.1,::1' },
    });
    await service.app.listen({ port: 0, host: '127.0.0.1' });
    port = Number(new URL(await service.app.getUrl()).port);
  });
  afterAll(() => service?.close());

  it.each(['/docs', '/admin', '/health'])(
    'asks browsers to upgrade subresources of %s only when it is reached over HTTPS',
    async (path) => {
      const plain = await service.http().get(path);
      expect(plain.headers['content-security-policy']).toContain("script-src 'self'");
      expect(plain.headers['content-security-policy']).not.toContain('upgrade-insecure-requests');

      const secure = await service.http().get(path).set('X-Forwarded-Proto', 'https');
      expect(secure.headers['content-security-policy']).toContain('upgrade-insecure-requests');
      expect(secure.headers['cross-origin-opener-policy']).toBe('same-origin');
    },
  );

  it('believes X-Forwarded-Proto only from a trusted proxy', async () => {
    const direct = await startTestApp({ env: { ADMIN_API_KEY } });
    try {
      const forged = await direct.http().get('/docs').set('X-Forwarded-Proto', 'https');
      expect(forged.headers['content-security-policy']).not.toContain('upgrade-insecure-requests');
    } finally {
      await direct.close();
    }
  });

  describeInChromium('in Chromium, from a host name that is not localhost', () => {
    let browser: Browser;

    beforeAll(async () => {
      browser = await launchChromium();
    }, 60_000);
    afterAll(() => browser?.close());

    it('renders Swagger UI with every script and style it loads', async () => {
      const page = await browser.newPage();
      const problems = watchPageProblems(page);
      await page.goto(`http://${REMOTE_HOST}:${port}/docs`);
      await page.locator('.swagger-ui .info .title').waitFor({ timeout: 15_000 });
      expect(await page.locator('.opblock').count()).toBeGreaterThan(10);
      expect(problems).toEqual([]);
      await page.close();
    }, 60_000);

    it('renders the dashboard and lets an operator sign in', async () => {
      const page = await browser.newPage();
      const problems = watchPageProblems(page);
      await page.goto(`http://${REMOTE_HOST}:${port}/admin`);
      await page.getByTestId('key-input').fill(ADMIN_API_KEY);
      await page.getByTestId('key-submit').click();
      // Filled in by the dashboard's script from the operator routes: it ran, and they answered.
      await page
        .getByTestId('holds-count')
        .filter({ hasText: /^\d+$/ })
        .waitFor({ timeout: 15_000 });
      expect(await page.evaluate('typeof window.Chart')).toBe('function');
      expect(problems).toEqual([]);
      await page.close();
    }, 60_000);
  });
});
