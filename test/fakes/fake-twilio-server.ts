import { parsePhoneNumberFromString } from 'libphonenumber-js';
import { randomBytes, randomInt } from 'node:crypto';
import { createServer, IncomingMessage, Server, ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { AddressInfo } from 'node:net';
import twilio from 'twilio';

/**
 * An in-memory Twilio on a real HTTP server, for the real `twilio` SDK pointed at it through
 * `TWILIO_API_BASE_URL`. It answers the parts of Verify v2, Programmable Messaging and Lookup v2
 * this service uses, with Twilio's paths, form parameters, JSON shapes and error codes
 *, and it can fail on purpose.
 */

export interface FakeTwilioOptions {
  accountSid: string;
  authToken: string;
  /** Added to every response; also settable later through `fake.latencyMs`. */
  latencyMs?: number;
  /** The fake's clock (ms since the epoch), for verification expiry. Defaults to Date.now. */
  now?: () => number;
}

/**
 * One injected failure. `status` answers with a Twilio error (`code` defaults by status);
 * `delayMs` holds the response (the request is still carried out, as a real Twilio would after
 * the client gave up); `destroySocket` drops the connection without an answer. `path` limits the
 * fault to requests whose path contains it (e.g. '/VerificationCheck').
 */
export interface FakeTwilioFault {
  status?: number;
  code?: number;
  message?: string;
  delayMs?: number;
  destroySocket?: boolean;
  path?: string;
}

export type VerificationStatus =
  'pending' | 'approved' | 'canceled' | 'expired' | 'max_attempts_reached';

export interface FakeVerification {
  sid: string;
  serviceSid: string;
  to: string;
  channel: string;
  locale: string | null;
  code: string;
  /** Deliveries of the code: 1 for the first send, +1 per resend. */
  sends: number;
  /** Checks made against this verification, right or wrong. */
  checks: number;
  status: VerificationStatus;
  createdAt: Date;
  updatedAt: Date;
  sentAt: Date[];
}

export type MessageStatus =
  | 'accepted'
  | 'scheduled'
  | 'canceled'
  | 'queued'
  | 'sending'
  | 'sent'
  | 'failed'
  | 'delivered'
  | 'undelivered'
  | 'receiving'
  | 'received'
  | 'read';

export interface FakeMessage {
  sid: string;
  to: string;
  /** The sender: the `From` sent, or the number the Messaging Service picked. */
  from: string;
  messagingServiceSid: string | null;
  body: string;
  statusCallback: string | null;
  validityPeriod: number | null;
  status: MessageStatus;
  numSegments: number;
  price: string | null;
  errorCode: number | null;
  createdAt: Date;
  updatedAt: Date;
  sentAt: Date | null;
}

export interface FakeRequest {
  method: string;
  path: string;
  query: Record<string, string>;
  form: Record<string, string>;
  /** Whether the Basic credentials were right. */
  authenticated: boolean;
}

export interface LineTypeIntelligence {
  carrier_name: string | null;
  type: string | null;
  mobile_country_code: string | null;
  mobile_network_code: string | null;
  error_code: number | null;
}

/** A status callback as Twilio would post it, for delivery through supertest or `fetch`. */
export interface StatusCallbackRequest {
  url: string;
  params: Record<string, string>;
  headers: Record<string, string>;
  /** The form-encoded body. */
  body: string;
}

const VERIFICATION_LIFETIME_MS = 10 * 60 * 1000;
const MAX_SENDS_PER_VERIFICATION = 5;
const MAX_CHECKS_PER_VERIFICATION = 5;
const VERIFY_CHANNELS = new Set(['sms', 'call', 'whatsapp']);
/** Verify's supported `Locale` values; Amharic (am) is not one of them. */
// prettier-ignore
const VERIFY_LOCALES = new Set([
  'af', 'ar', 'bn', 'ca', 'cs', 'da', 'de', 'el', 'en', 'en-GB', 'es', 'es-419', 'et', 'fi', 'fr',
  'gu', 'he', 'hi', 'hr', 'hu', 'id', 'it', 'ja', 'kn', 'ko', 'lt', 'ml', 'mr', 'ms', 'nb', 'nl',
  'pa', 'pl', 'pt', 'pt-BR', 'ro', 'ru', 'sk', 'sv', 'ta', 'te', 'th', 'tl', 'tr', 'uk', 'ur',
  'vi', 'zh', 'zh-CN', 'zh-HK',
]);
const FINAL_MESSAGE_STATUSES = new Set<MessageStatus>(['delivered', 'undelivered', 'failed']);
const MAX_BODY_LENGTH = 1600;
const PRICE_PER_SEGMENT_USD = 0.05;
/** The number a Messaging Service "picks" when the message names no `From`. */
const MESSAGING_SERVICE_NUMBER = '+15005550006';
const DEFAULT_LINE_TYPE: LineTypeIntelligence = {
  carrier_name: 'Fake Mobile Carrier',
  type: 'mobile',
  mobile_country_code: '001',
  mobile_network_code: '01',
  error_code: null,
};
const DEFAULT_ERROR_CODE_BY_STATUS: Record<number, number> = {
  400: 60200,
  401: 20003,
  403: 20003,
  404: 20404,
  429: 20429,
  500: 20500,
  503: 20503,
};
const E164 = /^\+[1-9]\d{1,14}$/;

class TwilioApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: number,
    message: string,
  ) {
    super(message);
  }
}

class AbandonedRequest extends Error {}

interface Reply {
  status: number;
  body: unknown;
}

interface Route {
  method: string;
  pattern: RegExp;
  handle: (request: FakeRequest, params: string[]) => Reply;
}

function sid(prefix: string): string {
  return prefix + randomBytes(16).toString('hex');
}

/** The 2010-04-01 API's dates: `Thu, 30 Jul 2015 20:12:31 +0000`. */
function rfc2822(date: Date): string {
  return date.toUTCString().replace('GMT', '+0000');
}

/** The v2 APIs' dates: `2015-07-30T20:12:31Z`. */
function iso8601(date: Date): string {
  return date.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

const GSM7_BASIC =
  '@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !"#¤%&\'()*+,-./0123456789:;<=>?' +
  '¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà';
const GSM7_EXTENSION = '\f^{}\\[~]|€';

/**
 * Segments as carriers bill them: GSM-7 160 septets (153 per part, extension characters take
 * two and are not split), otherwise UCS-2 70 code units (67 per part, surrogate pairs kept
 * whole).
 */
export function countSegments(body: string): number {
  const characters = [...body];
  const isGsm7 = characters.every((c) => GSM7_BASIC.includes(c) || GSM7_EXTENSION.includes(c));
  const units = characters.map((c) => (isGsm7 ? (GSM7_EXTENSION.includes(c) ? 2 : 1) : c.length));
  const total = units.reduce((sum, size) => sum + size, 0);
  const [single, part] = isGsm7 ? [160, 153] : [70, 67];
  if (total <= single) return 1;
  let segments = 1;
  let used = 0;
  for (const size of units) {
    if (used + size > part) {
      segments += 1;
      used = 0;
    }
    used += size;
  }
  return segments;
}

export class FakeTwilioServer {
  /** Milliseconds added before every response. */
  latencyMs: number;

  private readonly server: Server;
  private readonly accountSid: string;
  private readonly authToken: string;
  private readonly initialLatencyMs: number;
  private readonly now: () => number;
  /** Cancels the latency, delay and hold waits of requests still in flight. */
  private readonly waits = new Set<() => void>();
  /** Set while responses are held (holdResponses); resolves when they are let go. */
  private held?: Promise<void>;
  private readonly routes: Route[];
  private port = 0;
  private listening = false;

  private verificationList: FakeVerification[] = [];
  private messageList: FakeMessage[] = [];
  private requestList: FakeRequest[] = [];
  private faults: FakeTwilioFault[] = [];
  private lineTypes = new Map<string, LineTypeIntelligence>();

  private constructor(options: FakeTwilioOptions) {
    this.accountSid = options.accountSid;
    this.authToken = options.authToken;
    this.initialLatencyMs = options.latencyMs ?? 0;
    this.latencyMs = this.initialLatencyMs;
    this.now = options.now ?? Date.now;
    this.server = createServer(this.handle);
    this.routes = [
      {
        method: 'POST',
        pattern: /^\/v2\/Services\/([^/]+)\/Verifications$/,
        handle: (request, [serviceSid]) => this.createVerification(serviceSid, request.form),
      },
      {
        method: 'POST',
        pattern: /^\/v2\/Services\/([^/]+)\/VerificationCheck$/,
        handle: (request, [serviceSid]) => this.checkVerification(serviceSid, request),
      },
      {
        method: 'POST',
        pattern: /^\/2010-04-01\/Accounts\/([^/]+)\/Messages\.json$/,
        handle: (request, [accountSid]) => this.createMessage(accountSid, request),
      },
      {
        method: 'GET',
        pattern: /^\/2010-04-01\/Accounts\/([^/]+)\/Messages\/([^/]+)\.json$/,
        handle: (request, [accountSid, messageSid]) =>
          this.fetchMessage(accountSid, messageSid, request.path),
      },
      {
        method: 'GET',
        pattern: /^\/v2\/PhoneNumbers\/([^/]+)$/,
        handle: (request, [phoneNumber]) => this.lookUp(phoneNumber, request.query),
      },
    ];
  }

  private readonly handle = (request: IncomingMessage, response: ServerResponse): void => {
    this.serve(request, response).catch((error: unknown) => {
      if (error instanceof AbandonedRequest) {
        response.destroy();
      } else if (!response.headersSent && !response.destroyed) {
        this.write(response, { status: 500, body: twilioErrorBody(500, 20500, String(error)) });
      }
    });
  };

  static async start(options: FakeTwilioOptions): Promise<FakeTwilioServer> {
    const fake = new FakeTwilioServer(options);
    await fake.listen();
    return fake;
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  /** Every verification started, with its code, newest last. */
  get verifications(): readonly FakeVerification[] {
    this.verificationList.forEach((verification) => this.expireIfDue(verification));
    return this.verificationList;
  }

  /** Every Programmable Messaging message created, newest last. */
  get messages(): readonly FakeMessage[] {
    return this.messageList;
  }

  /** Every request received, including refused and failed ones, oldest first. */
  get requests(): readonly FakeRequest[] {
    return this.requestList;
  }

  /** The code of the pending Verify verification for this number, if there is one. */
  codeFor(to: string): string | undefined {
    return this.verifications.filter((v) => v.to === to && v.status === 'pending').at(-1)?.code;
  }

  lastMessageTo(to: string): FakeMessage | undefined {
    return this.messageList.filter((message) => message.to === to).at(-1);
  }

  /** Lookup's answer for this number; unknown numbers are mobile. */
  setLineType(phoneNumber: string, lineType: Partial<LineTypeIntelligence>): void {
    const base =
      lineType.type && lineType.type !== 'mobile'
        ? { ...DEFAULT_LINE_TYPE, mobile_country_code: null, mobile_network_code: null }
        : DEFAULT_LINE_TYPE;
    this.lineTypes.set(phoneNumber, { ...base, ...lineType });
  }

  /** The next `count` matching requests fail with `fault`. */
  failNext(count: number, fault: FakeTwilioFault): void {
    for (let index = 0; index < count; index += 1) this.faults.push({ ...fault });
  }

  /**
   * Holds every response, after the latency, until the returned function is called; requests are
   * recorded as they arrive. Unlike a latency, this keeps requests in flight for exactly as long
   * as a test needs, however slow the machine.
   */
  holdResponses(): () => void {
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    this.held = held;
    return () => {
      if (this.held === held) this.held = undefined;
      release();
    };
  }

  /**
   * Forgets everything recorded and injected. Requests still waiting out a latency, delay or hold
   * are dropped, so they cannot change the state of the next test.
   */
  reset(): void {
    this.held = undefined;
    this.abandonWaitingRequests();
    this.verificationList = [];
    this.messageList = [];
    this.requestList = [];
    this.faults = [];
    this.lineTypes.clear();
    this.latencyMs = this.initialLatencyMs;
  }

  /**
   * The same fake on an HTTPS port as well (its own certificate), for clients that must talk TLS
   * as to the real Twilio; `onHandshake` counts new TLS connections. It stays open until the
   * process ends (refuseConnections and stop close the HTTP port only).
   */
  async listenTls(
    tls: { cert: Buffer; key: Buffer },
    onHandshake: () => void = () => undefined,
  ): Promise<string> {
    const server = createHttpsServer(tls, this.handle);
    server.on('secureConnection', onHandshake);
    server.keepAliveTimeout = 60_000;
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return `https://127.0.0.1:${(server.address() as AddressInfo).port}`;
  }

  /** Closes the port, keeping all state: clients now get ECONNREFUSED. */
  async refuseConnections(): Promise<void> {
    if (!this.listening) return;
    this.listening = false;
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    this.server.closeAllConnections();
    await closed;
    // Let clients in this process read the close of their pooled keep-alive sockets, so the next
    // request opens a new connection (ECONNREFUSED) instead of reusing a dead one (ECONNRESET).
    await new Promise((resolve) => setTimeout(resolve, 20));
  }

  /** Opens the same port again after `refuseConnections()`. */
  async acceptConnections(): Promise<void> {
    if (!this.listening) await this.listen();
  }

  async stop(): Promise<void> {
    this.abandonWaitingRequests();
    await this.refuseConnections();
  }

  /**
   * Records `status` on the message (a final status is never overwritten, as Twilio's resource
   * does not regress when callbacks arrive late) and builds the signed callback Twilio would
   * post for it. Delivered and undelivered messages get their price.
   */
  prepareStatusCallback(
    messageSid: string,
    status: MessageStatus,
    options: { errorCode?: number } = {},
  ): StatusCallbackRequest {
    const message = this.messageList.find((candidate) => candidate.sid === messageSid);
    if (!message) throw new Error(`The fake Twilio has no message ${messageSid}`);
    if (!message.statusCallback) throw new Error(`Message ${messageSid} has no StatusCallback`);

    if (!FINAL_MESSAGE_STATUSES.has(message.status)) {
      message.status = status;
      message.errorCode = options.errorCode ?? null;
      message.updatedAt = new Date(this.now());
      if (['sent', 'delivered', 'undelivered'].includes(status)) {
        message.sentAt ??= message.updatedAt;
      }
      if (status === 'delivered' || status === 'undelivered') {
        message.price = (-PRICE_PER_SEGMENT_USD * message.numSegments).toFixed(5);
      }
    }

    const params: Record<string, string> = {
      AccountSid: this.accountSid,
      ApiVersion: '2010-04-01',
      From: message.from,
      MessageSid: message.sid,
      MessageStatus: status,
      SmsSid: message.sid,
      SmsStatus: status,
      To: message.to,
    };
    if (message.messagingServiceSid) params.MessagingServiceSid = message.messagingServiceSid;
    if (options.errorCode !== undefined) params.ErrorCode = String(options.errorCode);
    const url = message.statusCallback;
    return {
      url,
      params,
      headers: {
        'content-type': 'application/x-www-form-urlencoded',
        'user-agent': 'TwilioProxy/1.1',
        'x-twilio-signature': twilio.getExpectedTwilioSignature(this.authToken, url, params),
        'i-twilio-idempotency-token': randomBytes(16).toString('hex'),
      },
      body: new URLSearchParams(params).toString(),
    };
  }

  /** Posts the signed status callback to the message's StatusCallback URL; returns the status. */
  async sendStatusCallback(
    messageSid: string,
    status: MessageStatus,
    options: { errorCode?: number } = {},
  ): Promise<number> {
    const callback = this.prepareStatusCallback(messageSid, status, options);
    const response = await fetch(callback.url, {
      method: 'POST',
      headers: callback.headers,
      body: callback.body,
    });
    await response.arrayBuffer();
    return response.status;
  }

  private async listen(): Promise<void> {
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(this.port, '127.0.0.1', () => {
        this.server.off('error', reject);
        resolve();
      });
    });
    this.port = (this.server.address() as AddressInfo).port;
    this.listening = true;
  }

  private async serve(incoming: IncomingMessage, response: ServerResponse): Promise<void> {
    const url = new URL(incoming.url ?? '/', 'http://127.0.0.1');
    const rawBody = await readBody(incoming);
    const request: FakeRequest = {
      method: incoming.method ?? 'GET',
      path: url.pathname,
      query: Object.fromEntries(url.searchParams),
      form: incoming.headers['content-type']?.startsWith('application/x-www-form-urlencoded')
        ? Object.fromEntries(new URLSearchParams(rawBody))
        : {},
      authenticated: this.isAuthenticated(incoming.headers.authorization),
    };
    this.requestList.push(request);

    if (this.latencyMs > 0) await this.sleep(this.latencyMs);
    if (this.held) await this.waitFor(this.held);
    const fault = this.takeFault(request.path);
    if (fault?.destroySocket) {
      incoming.socket.destroy();
      return;
    }
    if (fault?.delayMs) await this.sleep(fault.delayMs);
    if (fault?.status) {
      const code = fault.code ?? DEFAULT_ERROR_CODE_BY_STATUS[fault.status] ?? fault.status * 100;
      const message = fault.message ?? `Injected failure ${code}`;
      this.write(response, {
        status: fault.status,
        body: twilioErrorBody(fault.status, code, message),
      });
      return;
    }
    this.write(response, this.route(request));
  }

  private route(request: FakeRequest): Reply {
    if (!request.authenticated) {
      return { status: 401, body: twilioErrorBody(401, 20003, 'Authenticate') };
    }
    const pathMatches = this.routes.filter((route) => route.pattern.test(request.path));
    const route = pathMatches.find((candidate) => candidate.method === request.method);
    try {
      if (!route) {
        if (pathMatches.length > 0) {
          throw new TwilioApiError(405, 20004, 'Method not allowed');
        }
        throw notFound(request.path);
      }
      const params = route.pattern.exec(request.path)!.slice(1).map(decodeURIComponent);
      return route.handle(request, params);
    } catch (error) {
      if (!(error instanceof TwilioApiError)) throw error;
      return {
        status: error.status,
        body: twilioErrorBody(error.status, error.code, error.message),
      };
    }
  }

  private createVerification(serviceSid: string, form: Record<string, string>): Reply {
    requireVerifyService(serviceSid, `/v2/Services/${serviceSid}/Verifications`);
    const { To: to, Channel: channel, Locale: locale, CustomCode: customCode } = form;
    if (!to || !E164.test(to)) throw invalidParameter(`Invalid parameter \`To\`: ${to ?? ''}`);
    if (!channel || !VERIFY_CHANNELS.has(channel)) {
      throw invalidParameter(`Invalid parameter \`Channel\`: ${channel ?? ''}`);
    }
    if (locale !== undefined && !VERIFY_LOCALES.has(locale)) {
      throw invalidParameter(`Invalid parameter \`Locale\`: ${locale}`);
    }
    if (customCode !== undefined && !/^\d{4,10}$/.test(customCode)) {
      throw invalidParameter('Invalid parameter `CustomCode`');
    }

    const now = new Date(this.now());
    const pending = this.pendingVerification(serviceSid, (v) => v.to === to);
    if (pending) {
      // A resend inside the lifetime is the same verification and delivers the same code.
      if (pending.sends >= MAX_SENDS_PER_VERIFICATION) {
        throw new TwilioApiError(429, 60203, 'Max send attempts reached');
      }
      pending.sends += 1;
      pending.sentAt.push(now);
      pending.channel = channel;
      pending.locale = locale ?? pending.locale;
      if (customCode) pending.code = customCode;
      pending.updatedAt = now;
      return { status: 201, body: this.verificationResource(pending) };
    }

    const verification: FakeVerification = {
      sid: sid('VE'),
      serviceSid,
      to,
      channel,
      locale: locale ?? null,
      code: customCode ?? String(randomInt(0, 1_000_000)).padStart(6, '0'),
      sends: 1,
      checks: 0,
      status: 'pending',
      createdAt: now,
      updatedAt: now,
      sentAt: [now],
    };
    this.verificationList.push(verification);
    return { status: 201, body: this.verificationResource(verification) };
  }

  private checkVerification(serviceSid: string, request: FakeRequest): Reply {
    requireVerifyService(serviceSid, request.path);
    const { To: to, VerificationSid: verificationSid, Code: code } = request.form;
    if (!to && !verificationSid) {
      throw invalidParameter('Either a `To` or a `VerificationSid` must be specified');
    }
    if (!code || !/^[0-9A-Za-z]{4,10}$/.test(code)) {
      throw invalidParameter('Invalid parameter `Code`');
    }
    const verification = this.pendingVerification(serviceSid, (v) =>
      verificationSid ? v.sid === verificationSid : v.to === to,
    );
    if (!verification) throw notFound(`/Services/${serviceSid}/VerificationCheck`);

    verification.checks += 1;
    verification.updatedAt = new Date(this.now());
    if (verification.checks > MAX_CHECKS_PER_VERIFICATION) {
      // Twilio then deletes the verification: later checks get 404.
      verification.status = 'max_attempts_reached';
      throw new TwilioApiError(429, 60202, 'Max check attempts reached');
    }
    const valid = code === verification.code;
    if (valid) verification.status = 'approved';
    return {
      status: 200,
      body: {
        sid: verification.sid,
        service_sid: verification.serviceSid,
        account_sid: this.accountSid,
        to: verification.to,
        channel: verification.channel,
        status: valid ? 'approved' : 'pending',
        valid,
        amount: null,
        payee: null,
        sna_attempts_error_codes: [],
        date_created: iso8601(verification.createdAt),
        date_updated: iso8601(verification.updatedAt),
      },
    };
  }

  private createMessage(accountSid: string, request: FakeRequest): Reply {
    if (accountSid !== this.accountSid) throw notFound(request.path);
    const {
      To: to,
      From: from,
      MessagingServiceSid: messagingServiceSid,
      Body: body,
      StatusCallback: statusCallback,
      ValidityPeriod: validityPeriod,
    } = request.form;
    if (!to) throw new TwilioApiError(400, 21604, "A 'To' phone number is required.");
    if (!from && !messagingServiceSid) {
      throw new TwilioApiError(400, 21603, "A 'From' phone number is required.");
    }
    if (!body) throw new TwilioApiError(400, 21602, 'Message body is required.');
    if (!E164.test(to)) throw new TwilioApiError(400, 21211, `Invalid 'To' Phone Number: ${to}`);
    if (messagingServiceSid && !/^MG[0-9a-fA-F]{32}$/.test(messagingServiceSid)) {
      throw new TwilioApiError(400, 21701, 'The Messaging Service Sid is invalid.');
    }
    if ([...body].length > MAX_BODY_LENGTH) {
      throw new TwilioApiError(
        400,
        21617,
        'The concatenated message body exceeds the 1600 character limit.',
      );
    }
    if (
      validityPeriod !== undefined &&
      !(/^\d+$/.test(validityPeriod) && +validityPeriod >= 1 && +validityPeriod <= 36_000)
    ) {
      throw new TwilioApiError(400, 21624, 'Invalid validity period value');
    }

    const now = new Date(this.now());
    const message: FakeMessage = {
      sid: sid('SM'),
      to,
      from: from ?? MESSAGING_SERVICE_NUMBER,
      messagingServiceSid: messagingServiceSid ?? null,
      body,
      statusCallback: statusCallback ?? null,
      validityPeriod: validityPeriod === undefined ? null : Number(validityPeriod),
      // A Messaging Service accepts the message first and picks the sender afterwards.
      status: messagingServiceSid ? 'accepted' : 'queued',
      numSegments: countSegments(body),
      price: null,
      errorCode: null,
      createdAt: now,
      updatedAt: now,
      sentAt: null,
    };
    this.messageList.push(message);
    return { status: 201, body: this.messageResource(message) };
  }

  private fetchMessage(accountSid: string, messageSid: string, path: string): Reply {
    const message = this.messageList.find((candidate) => candidate.sid === messageSid);
    if (accountSid !== this.accountSid || !message) throw notFound(path);
    return { status: 200, body: this.messageResource(message) };
  }

  private lookUp(phoneNumber: string, query: Record<string, string>): Reply {
    const fields = (query.Fields ?? '').split(',').map((field) => field.trim());
    const parsed = parsePhoneNumberFromString(phoneNumber);
    const valid = Boolean(parsed?.isValid());
    const e164 = parsed?.number ?? phoneNumber;
    return {
      status: 200,
      body: {
        calling_country_code: parsed?.countryCallingCode ?? null,
        country_code: parsed?.country ?? null,
        phone_number: e164,
        national_format: parsed?.formatNational() ?? null,
        valid,
        validation_errors: valid ? [] : [parsed ? 'INVALID_LENGTH' : 'NOT_A_NUMBER'],
        caller_name: null,
        sim_swap: null,
        call_forwarding: null,
        line_status: null,
        line_type_intelligence:
          valid && fields.includes('line_type_intelligence')
            ? (this.lineTypes.get(e164) ?? DEFAULT_LINE_TYPE)
            : null,
        identity_match: null,
        reassigned_number: null,
        sms_pumping_risk: null,
        phone_number_quality_score: null,
        pre_fill: null,
        url: `https://lookups.twilio.com/v2/PhoneNumbers/${e164}`,
      },
    };
  }

  private pendingVerification(
    serviceSid: string,
    matches: (verification: FakeVerification) => boolean,
  ): FakeVerification | undefined {
    return this.verificationList
      .filter((v) => v.serviceSid === serviceSid && matches(v))
      .map((v) => this.expireIfDue(v))
      .filter((v) => v.status === 'pending')
      .at(-1);
  }

  private expireIfDue(verification: FakeVerification): FakeVerification {
    if (
      verification.status === 'pending' &&
      this.now() >= verification.createdAt.getTime() + VERIFICATION_LIFETIME_MS
    ) {
      verification.status = 'expired';
    }
    return verification;
  }

  private verificationResource(verification: FakeVerification): Record<string, unknown> {
    return {
      sid: verification.sid,
      service_sid: verification.serviceSid,
      account_sid: this.accountSid,
      to: verification.to,
      channel: verification.channel,
      status: verification.status,
      valid: false,
      lookup: {},
      amount: null,
      payee: null,
      send_code_attempts: verification.sentAt.map((time) => ({
        attempt_sid: sid('VL'),
        channel: verification.channel,
        time: iso8601(time),
      })),
      date_created: iso8601(verification.createdAt),
      date_updated: iso8601(verification.updatedAt),
      sna: null,
      url: `https://verify.twilio.com/v2/Services/${verification.serviceSid}/Verifications/${verification.sid}`,
    };
  }

  private messageResource(message: FakeMessage): Record<string, unknown> {
    const uri = `/2010-04-01/Accounts/${this.accountSid}/Messages/${message.sid}.json`;
    return {
      account_sid: this.accountSid,
      api_version: '2010-04-01',
      body: message.body,
      date_created: rfc2822(message.createdAt),
      date_sent: message.sentAt ? rfc2822(message.sentAt) : null,
      date_updated: rfc2822(message.updatedAt),
      direction: 'outbound-api',
      error_code: message.errorCode,
      error_message: null,
      // Twilio shows no sender until the Messaging Service has picked one.
      from: message.status === 'accepted' ? null : message.from,
      messaging_service_sid: message.messagingServiceSid,
      num_media: '0',
      num_segments: String(message.numSegments),
      price: message.price,
      price_unit: 'USD',
      sid: message.sid,
      status: message.status,
      subresource_uris: {
        media: `/2010-04-01/Accounts/${this.accountSid}/Messages/${message.sid}/Media.json`,
      },
      to: message.to,
      uri,
    };
  }

  private isAuthenticated(header: string | undefined): boolean {
    if (!header?.startsWith('Basic ')) return false;
    const credentials = Buffer.from(header.slice('Basic '.length), 'base64').toString('utf8');
    return credentials === `${this.accountSid}:${this.authToken}`;
  }

  private takeFault(path: string): FakeTwilioFault | undefined {
    const index = this.faults.findIndex((fault) => !fault.path || path.includes(fault.path));
    return index === -1 ? undefined : this.faults.splice(index, 1)[0];
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve, reject) => {
      const cancel = () => {
        clearTimeout(timer);
        reject(new AbandonedRequest());
      };
      const timer = setTimeout(() => {
        this.waits.delete(cancel);
        resolve();
      }, ms);
      this.waits.add(cancel);
    });
  }

  private waitFor(released: Promise<void>): Promise<void> {
    return new Promise((resolve, reject) => {
      const cancel = () => reject(new AbandonedRequest());
      this.waits.add(cancel);
      void released.then(() => {
        this.waits.delete(cancel);
        resolve();
      });
    });
  }

  private abandonWaitingRequests(): void {
    this.waits.forEach((cancel) => cancel());
    this.waits.clear();
  }

  private write(response: ServerResponse, reply: Reply): void {
    // The client may have given up (timeout) while a delayed fault was pending.
    if (response.destroyed || response.writableEnded) return;
    const payload = JSON.stringify(reply.body);
    response.writeHead(reply.status, {
      'content-type': 'application/json; charset=utf-8',
      'content-length': Buffer.byteLength(payload),
      'twilio-request-id': sid('RQ'),
    });
    response.end(payload);
  }
}

function twilioErrorBody(status: number, code: number, message: string): Record<string, unknown> {
  return { code, message, more_info: `https://www.twilio.com/docs/errors/${code}`, status };
}

function invalidParameter(message: string): TwilioApiError {
  return new TwilioApiError(400, 60200, message);
}

function notFound(path: string): TwilioApiError {
  return new TwilioApiError(404, 20404, `The requested resource ${path} was not found`);
}

function requireVerifyService(serviceSid: string, path: string): void {
  if (!serviceSid.startsWith('VA')) throw notFound(path);
}

function readBody(request: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    request.on('error', reject);
  });
}
