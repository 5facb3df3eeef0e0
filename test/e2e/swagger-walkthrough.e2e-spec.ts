import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { Browser, Locator, Page } from 'playwright-core';
import {
  REMOTE_HOST,
  describeInChromium,
  launchChromium,
  watchPageProblems,
} from '../support/chromium';
import { BOOT_TIMEOUT_MS, ServiceProcess, ServiceProcesses } from '../support/service-process';
import { PROJECT_ROOT } from '../support/test-environment';

/**
 * The README's walkthrough, done the way a newcomer does it: the service started with exactly the
 * README's command (`SMS_TEST_NUMBERS=+251911234567:123456 npm start`: embedded database, console
 * SMS, in-memory limits), Swagger UI opened from another machine's point of view (a host name that
 * is not localhost, over plain HTTP), and every step clicked in Swagger UI itself at a person's
 * pace, each with the example Swagger UI fills in for it.
 */

const TEST_NUMBER = '+251911234567';
const SCREENSHOT = join(PROJECT_ROOT, 'test-output', 'swagger.png');
/** Playwright waits this long before each action; a person reads each answer a little longer. */
const ACTION_DELAY_MS = 150;
const READING_PAUSE_MS = 1_000;

const services = new ServiceProcesses();
let service: ServiceProcess;

interface Answer {
  status: number;
  body: Record<string, unknown>;
}

/** What a person does with one operation of Swagger UI: open it, try it out, execute. */
class SwaggerUi {
  constructor(private readonly page: Page) {}

  async open(url: string): Promise<void> {
    await this.page.goto(url);
    await this.page.locator('.swagger-ui .info .title').waitFor();
  }

  async execute(
    operationId: string,
    options: { example?: string; edit?: (body: Record<string, unknown>) => void } = {},
  ): Promise<Answer> {
    const operation = this.operation(operationId);
    if (!(await operation.locator('.opblock-body').isVisible())) {
      await operation.locator('.opblock-summary').click();
    }
    const tryOut = operation.locator('.try-out__btn');
    if ((await tryOut.textContent())?.trim() === 'Try it out') await tryOut.click();
    if (options.example) {
      await operation
        .locator('.opblock-section-request-body .examples-select-element')
        .selectOption(options.example);
    }
    if (options.edit) {
      const editor = operation.locator('textarea.body-param__text');
      const body = JSON.parse(await editor.inputValue()) as Record<string, unknown>;
      options.edit(body);
      await editor.fill(JSON.stringify(body, null, 2));
    }
    const [response] = await Promise.all([
      this.page.waitForResponse((candidate) => candidate.request().resourceType() === 'fetch'),
      operation.locator('button.execute').click(),
    ]);
    const text = await response.text();
    // What the person reads: the status Swagger UI shows for this very request.
    await operation
      .locator('.live-responses-table tbody td.response-col_status', {
        hasText: String(response.status()),
      })
      .waitFor();
    await this.page.waitForTimeout(READING_PAUSE_MS);
    return { status: response.status(), body: text ? (JSON.parse(text) as Answer['body']) : {} };
  }

  /** Authorize → the access-token scheme → paste → Authorize → Close. */
  async authorize(accessToken: string): Promise<void> {
    await this.page.locator('.auth-wrapper button.authorize').click();
    const scheme = this.page.locator('.auth-container').filter({ hasText: 'access-token' });
    await scheme.locator('input').fill(accessToken);
    await scheme.locator('button.authorize').click();
    await scheme.locator('button.btn-done').click();
  }

  /** The viewport with the answer Swagger UI shows for the operation's last request. */
  async screenshotAnswer(operationId: string, path: string): Promise<void> {
    const answer = this.operation(operationId).locator('.live-responses-table');
    await answer.evaluate((element: { scrollIntoView(options: object): void }) =>
      element.scrollIntoView({ block: 'center' }),
    );
    await this.page.screenshot({ path });
  }

  private operation(operationId: string): Locator {
    return this.page.locator(`#operations-${operationId}`);
  }
}

beforeAll(
  async () => {
    service = await services.startServing({
      SMS_TEST_NUMBERS: `${TEST_NUMBER}:123456`,
      DATA_DIR: await services.preparedDataDirectory('walkthrough'),
    });
    // A first boot for the run's template, its clean stop, then this file's own boot.
  },
  2 * BOOT_TIMEOUT_MS + 30_000,
);

afterAll(() => services.cleanUp());

describeInChromium('The README’s Swagger walkthrough, clicked in Swagger UI', () => {
  let browser: Browser;

  beforeAll(async () => {
    browser = await launchChromium({ slowMo: ACTION_DELAY_MS });
  }, 60_000);
  afterAll(() => browser?.close());

  it('runs every step with the example prefilled for it, from a host that is not localhost', async () => {
    const page = await browser.newPage({ viewport: { width: 1280, height: 1000 } });
    // 4xx answers belong to the steps (each is asserted); anything else on the page is a problem.
    const problems = watchPageProblems(page, () => true);
    const swagger = new SwaggerUi(page);
    const port = new URL(service.baseUrl).port;
    await swagger.open(`http://${REMOTE_HOST}:${port}/docs`);

    // 1. send-verification, as prefilled (purpose registration).
    const sent = await swagger.execute('sms-SmsController_send');
    expect(sent).toMatchObject({ status: 200, body: { status: 'pending', to: TEST_NUMBER } });

    // 2. auth/register, as prefilled (the code of the test number).
    const registered = await swagger.execute('auth-AuthController_register');
    expect(registered).toMatchObject({ status: 200, body: { user: { phoneNumber: TEST_NUMBER } } });

    // 3. send-verification again, example "login".
    const loginCode = await swagger.execute('sms-SmsController_send', { example: 'login' });
    expect(loginCode.status).toBe(200);

    // 4. auth/login-sms, as prefilled.
    const session = await swagger.execute('auth-AuthController_loginWithSms');
    expect(session.status).toBe(200);
    const accessToken = session.body.accessToken as string;

    // 5. Authorize with the access token, then GET /auth/me.
    await swagger.authorize(accessToken);
    const me = await swagger.execute('auth-AuthController_me');
    expect(me).toMatchObject({ status: 200, body: { phoneNumber: TEST_NUMBER } });
    mkdirSync(join(PROJECT_ROOT, 'test-output'), { recursive: true });
    await swagger.screenshotAnswer('auth-AuthController_me', SCREENSHOT);

    // 6. send-verification example "password_reset", verify-code as prefilled, then
    //    reset-password-sms with the verification_token pasted into its token example.
    expect(
      (await swagger.execute('sms-SmsController_send', { example: 'password_reset' })).status,
    ).toBe(200);
    const approved = await swagger.execute('sms-SmsController_verify');
    expect(approved).toMatchObject({ status: 200, body: { status: 'approved', valid: true } });
    const reset = await swagger.execute('auth-AuthController_resetPasswordWithSms', {
      example: 'verificationToken',
      edit: (body) => (body.verificationToken = approved.body.verification_token),
    });
    expect(reset.status).toBe(204);

    expect(problems).toEqual([]);
    await page.close();
  }, 180_000);
});
