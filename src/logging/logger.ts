import pino, { Logger } from 'pino';
import type { AppConfig } from '../app.config';

/**
 * Field names whose values never reach a log line: phone numbers, codes, tokens, passwords,
 * credentials. Applied at every depth pino's redaction supports (top level and one level down).
 */
const SENSITIVE_FIELDS = [
  'phone',
  'phoneNumber',
  'newPhoneNumber',
  'to',
  'To',
  'From',
  'code',
  'Code',
  'password',
  'newPassword',
  'currentPassword',
  'token',
  'verificationToken',
  'verification_token',
  'accessToken',
  'refreshToken',
  'twoFactorToken',
  'authToken',
  'twilioConfig',
  'secret',
  'apiKey',
];

export const REDACTED_PATHS = [
  'req.headers.authorization',
  'req.headers.cookie',
  'req.headers["x-twilio-signature"]',
  'req.headers["x-admin-api-key"]',
  'res.headers["set-cookie"]',
  ...SENSITIVE_FIELDS,
  ...SENSITIVE_FIELDS.map((field) => `*.${field}`),
];

/** International or long national digit runs, scrubbed from free-text messages. */
const PHONE_LIKE = /\+?\d[\d\s()-]{7,}\d/g;

export function scrubPhoneNumbers(text: string): string {
  return text.replace(PHONE_LIKE, '[redacted-number]');
}

/** Error fields safe to log; pg and TypeORM errors also carry query parameters and row details. */
function serializeError(error: unknown): Record<string, unknown> {
  if (!(error instanceof Error)) return { message: scrubPhoneNumbers(String(error)) };
  const { code, status } = error as { code?: unknown; status?: unknown };
  return {
    type: error.name,
    message: scrubPhoneNumbers(error.message),
    // Not "code": that field name is redacted everywhere, since it usually means an OTP.
    errorCode: code,
    status,
    stack: error.stack ? scrubPhoneNumbers(error.stack) : undefined,
  };
}

export function createRootLogger(
  app: Pick<AppConfig, 'logLevel'>,
  destination?: pino.DestinationStream,
): Logger {
  return pino(
    {
      level: app.logLevel,
      base: { service: 'sms-verification' },
      timestamp: pino.stdTimeFunctions.isoTime,
      redact: { paths: REDACTED_PATHS, censor: '[redacted]' },
      serializers: {
        err: serializeError,
        error: serializeError,
        req: (request: { id?: unknown; method?: string; url?: string; ip?: string }) => ({
          id: request.id,
          method: request.method,
          // The query string is dropped: it could carry anything a client chose to put there. No
          // route takes a number in its path, but a stranger may ask for one that does not exist.
          path:
            request.url === undefined ? undefined : scrubPhoneNumbers(request.url.split('?')[0]),
        }),
        res: (reply: { statusCode?: number }) => ({ statusCode: reply.statusCode }),
      },
      hooks: {
        logMethod(args, method) {
          const scrubbed = args.map((argument) =>
            typeof argument === 'string' ? scrubPhoneNumbers(argument) : argument,
          ) as Parameters<typeof method>;
          method.apply(this, scrubbed);
        },
      },
    },
    destination,
  );
}
