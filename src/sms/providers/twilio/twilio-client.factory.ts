import twilio, { Twilio } from 'twilio';
import type TwilioRequestClient from 'twilio/lib/base/RequestClient';
import type TwilioResponse from 'twilio/lib/http/response';
import { TwilioConfig } from '../../sms.config';

/**
 * The SDK has no base-URL option and builds absolute URLs per product (api., verify.,
 * lookups.twilio.com …). With an `apiBaseUrl`, this client sends every request to that one
 * origin instead, keeping path and query, so tests and local development reach a fake Twilio through the
 * real SDK.
 */
class TwilioHttpClient extends twilio.RequestClient {
  constructor(
    options: TwilioRequestClient.RequestClientOptions,
    private readonly apiOrigin?: string,
  ) {
    super(options);
  }

  override request<TData>(
    options: TwilioRequestClient.RequestOptions<TData>,
  ): Promise<TwilioResponse<TData>> {
    if (!this.apiOrigin) return super.request(options);
    const { pathname, search } = new URL(options.uri);
    return super.request({ ...options, uri: new URL(pathname + search, this.apiOrigin).href });
  }
}

/** Twilio's paths start at the root, so the base URL must be a bare origin. */
function parseApiOrigin(value: string): string {
  const problem = `TWILIO_API_BASE_URL must be an http(s) origin such as http://127.0.0.1:4010`;
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new Error(problem);
  }
  if (!['http:', 'https:'].includes(url.protocol) || url.pathname !== '/' || url.search) {
    throw new Error(problem);
  }
  return url.origin;
}

/**
 * The official SDK client. `timeoutMs` bounds the wait for Twilio's response (axios' timeout in
 * the SDK's RequestClient); the SDK's own 429 auto-retry stays off so rate limits reach callers.
 */
export function createTwilioClient(
  config: Pick<TwilioConfig, 'accountSid' | 'authToken' | 'apiBaseUrl' | 'timeoutMs'> &
    Partial<Pick<TwilioConfig, 'maxSockets'>>,
): Twilio {
  if (!config.accountSid || !config.authToken) {
    throw new Error('Twilio needs TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN');
  }
  const apiOrigin = config.apiBaseUrl ? parseApiOrigin(config.apiBaseUrl) : undefined;
  const httpClient = new TwilioHttpClient(
    {
      timeout: config.timeoutMs,
      keepAlive: true,
      maxSockets: config.maxSockets,
      maxTotalSockets: config.maxSockets && config.maxSockets * 4,
      // The SDK keeps only 5 idle sockets per host: under load every other request would pay
      // a new TLS handshake (visible in the send path's profile, docs/BENCHMARKS.md).
      maxFreeSockets: config.maxSockets,
    },
    apiOrigin,
  );
  return twilio(config.accountSid, config.authToken, { httpClient });
}
