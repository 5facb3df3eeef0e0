import {
  BOOT_TIMEOUT_MS,
  ServiceProcess,
  ServiceProcesses,
  isRunning,
  logEntries,
} from '../support/service-process';

/**
 * The service as a newcomer runs it (`npm start`, nothing configured: the embedded database, the
 * console provider, in-memory stores), used at a person's pace: every flow pauses between its
 * steps for longer than any idle timeout of a connection (pg's pool closes idle connections after
 * 10 s by default), which is where a reconnected embedded session used to fail every code check.
 * The flows run side by side, so the whole file waits about two pauses.
 */

const IDLE_PAUSE_MS = 11_000;
const PASSWORD = 'correct horse battery staple';
const services = new ServiceProcesses();
let service: ServiceProcess;

const pause = (): Promise<void> => new Promise((resolve) => setTimeout(resolve, IDLE_PAUSE_MS));

async function call(
  method: string,
  path: string,
  body?: object,
  accessToken?: string,
): Promise<{ status: number; body: Record<string, unknown> }> {
  const response = await fetch(`${service.baseUrl}${path}`, {
    method,
    headers: {
      ...(body ? { 'content-type': 'application/json' } : {}),
      ...(accessToken ? { authorization: `Bearer ${accessToken}` } : {}),
    },
    body: body ? JSON.stringify(body) : undefined,
    signal: AbortSignal.timeout(10_000),
  });
  const text = await response.text();
  return {
    status: response.status,
    body: text ? (JSON.parse(text) as Record<string, unknown>) : {},
  };
}

async function expectStatus(
  expected: number,
  method: string,
  path: string,
  body?: object,
  accessToken?: string,
): Promise<Record<string, unknown>> {
  const answer = await call(method, path, body, accessToken);
  if (answer.status !== expected) {
    throw new Error(`${method} ${path} answered ${answer.status}: ${JSON.stringify(answer.body)}`);
  }
  return answer.body;
}

/**
 * The console provider logs each text without its number, so sends whose code a flow reads are
 * taken one at a time: the next development SMS in the log is this send's.
 */
let codeReading: Promise<unknown> = Promise.resolve();
function sendAndReadCode(phoneNumber: string, purpose: string): Promise<string> {
  const reading = codeReading.then(async () => {
    const before = developmentTexts().length;
    await expectStatus(200, 'POST', '/sms/send-verification', {
      phoneNumber,
      purpose,
      locale: 'en',
    });
    const deadline = Date.now() + 5_000;
    while (developmentTexts().length === before) {
      if (Date.now() > deadline) throw new Error(`no development SMS logged for ${purpose}`);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    const code = /\b(\d{6})\b/.exec(developmentTexts()[before])?.[1];
    if (!code) throw new Error('the development SMS carries no code');
    return code;
  });
  codeReading = reading.catch(() => undefined);
  return reading;
}

function developmentTexts(): string[] {
  return logEntries(service)
    .map((entry) => String(entry.msg ?? ''))
    .filter((message) => message.startsWith('[development SMS'));
}

async function register(phoneNumber: string): Promise<{ accessToken: string }> {
  const code = await sendAndReadCode(phoneNumber, 'registration');
  return (await expectStatus(200, 'POST', '/auth/register', {
    phoneNumber,
    password: PASSWORD,
    code,
  })) as { accessToken: string };
}

beforeAll(
  async () => {
    service = await services.startServing({
      DATA_DIR: await services.preparedDataDirectory('embedded-idle'),
      // Six numbers from one address, two codes of one purpose within a pause of each other: the
      // per-IP layers and the resend cooldown are not under test.
      SMS_IP_DISTINCT_PHONES: '20',
      SMS_RESEND_COOLDOWNS: '0',
    });
    // A first boot for the run's template, its clean stop, then this file's own boot.
  },
  2 * BOOT_TIMEOUT_MS + 30_000,
);

afterAll(() => services.cleanUp());

describe('The embedded default at a person’s pace (pauses longer than any idle timeout)', () => {
  it('keeps every code check working: verify-code, register, login-sms, reset and 2FA login', async () => {
    const flows: Record<string, () => Promise<void>> = {
      'verify-code, twice across a pause': async () => {
        const first = await sendAndReadCode('+251911000101', 'registration');
        await pause();
        const approved = await expectStatus(200, 'POST', '/sms/verify-code', {
          phoneNumber: '+251911000101',
          code: first,
          purpose: 'registration',
        });
        expect(approved.status).toBe('approved');
        await pause();
        const second = await sendAndReadCode('+251911000102', 'registration');
        const again = await expectStatus(200, 'POST', '/sms/verify-code', {
          phoneNumber: '+251911000102',
          code: second,
          purpose: 'registration',
        });
        expect(again.status).toBe('approved');
      },
      'register with a code': async () => {
        const code = await sendAndReadCode('+251911000103', 'registration');
        await pause();
        await expectStatus(200, 'POST', '/auth/register', {
          phoneNumber: '+251911000103',
          password: PASSWORD,
          code,
        });
      },
      'login-sms': async () => {
        await register('+251911000104');
        await pause();
        const code = await sendAndReadCode('+251911000104', 'login');
        await pause();
        const session = await expectStatus(200, 'POST', '/auth/login-sms', {
          phoneNumber: '+251911000104',
          code,
        });
        await expectStatus(200, 'GET', '/auth/me', undefined, session.accessToken as string);
      },
      'password reset by SMS': async () => {
        await register('+251911000105');
        await pause();
        const code = await sendAndReadCode('+251911000105', 'password_reset');
        await pause();
        await expectStatus(204, 'POST', '/auth/reset-password-sms', {
          phoneNumber: '+251911000105',
          code,
          newPassword: 'another horse battery staple',
        });
      },
      'two-factor login': async () => {
        const { accessToken } = await register('+251911000106');
        const enable = await sendAndReadCode('+251911000106', 'two_factor');
        await expectStatus(200, 'POST', '/auth/2fa/enable', { code: enable }, accessToken);
        await pause();
        const challenge = await expectStatus(200, 'POST', '/auth/login', {
          phoneNumber: '+251911000106',
          password: PASSWORD,
        });
        expect(challenge.twoFactorToken).toEqual(expect.any(String));
        const code = await sendAndReadCode('+251911000106', 'two_factor');
        await pause();
        await expectStatus(200, 'POST', '/auth/login/2fa', {
          twoFactorToken: challenge.twoFactorToken,
          code,
        });
      },
    };
    const outcomes = await Promise.allSettled(Object.values(flows).map((flow) => flow()));
    const failures = outcomes.flatMap((outcome, index) =>
      outcome.status === 'rejected'
        ? [`${Object.keys(flows)[index]}: ${String(outcome.reason)}`]
        : [],
    );
    expect(failures).toEqual([]);
    expect(isRunning(service)).toBe(true);
    expect(logEntries(service).filter((entry) => Number(entry.level) >= 50)).toEqual([]);
  }, 120_000);
});
