import { isIP } from 'node:net';
import { AppEnvironment } from './app.environment';

export type TrustProxy = boolean | number | string[];

export interface AppConfig {
  environment: AppEnvironment['NODE_ENV'];
  isProduction: boolean;
  port: number;
  host: string;
  logLevel: AppEnvironment['LOG_LEVEL'];
  /** Allowed browser origins; empty means CORS is off. */
  corsOrigins: string[];
  trustProxy: TrustProxy;
  /**
   * Leading bits of an IPv6 address that make one client for every per-client key (rate limits,
   * the HTTP throttle, analytics): see clientAddressGroup.
   */
  clientIpv6PrefixLength: number;
  bodyLimitBytes: number;
  /** The URL Twilio and browsers use to reach this service, behind any proxy. */
  publicBaseUrl?: string;
  swaggerEnabled: boolean;
  shutdownTimeoutMs: number;
  /** Longest wait between runs of a background task that keeps failing (recurring-task.ts). */
  backgroundRetryMaxMs: number;
  http: HttpConnectionsConfig;
}

/** How long a client may take and how many connections it may hold (connection-limits.ts). */
export interface HttpConnectionsConfig {
  /** From a connection's (or request's) first byte to the end of its headers. */
  headersTimeoutMs: number;
  /** From a request's first byte to the end of its body. */
  requestTimeoutMs: number;
  /** How long an idle kept-alive connection stays open after a response. */
  keepAliveTimeoutMs: number;
  /** A connection on which no byte moves either way for this long is closed. */
  socketTimeoutMs: number;
  /** 0: derived from the descriptor limit at boot (connection-limits.ts). */
  maxConnections: number;
  maxConnectionsPerClient: number;
}

/**
 * TRUST_PROXY: `false` (default), a hop count, or a list of proxy addresses/subnets. `true`
 * trusts any X-Forwarded-For and is only safe when the last proxy overwrites that header.
 */
function parseTrustProxy(value: string, problems: string[]): TrustProxy {
  const normalized = value.trim().toLowerCase();
  if (normalized === 'false' || normalized === '') return false;
  if (normalized === 'true') return true;
  if (/^\d+$/.test(normalized)) return Number(normalized);
  const entries = value.split(',').map((entry) => entry.trim());
  for (const entry of entries) {
    const [address, prefix] = entry.split('/');
    const maxPrefix = isIP(address) === 6 ? 128 : 32;
    const validPrefix =
      prefix === undefined || (/^\d{1,3}$/.test(prefix) && Number(prefix) <= maxPrefix);
    if (!isIP(address) || !validPrefix) {
      problems.push(
        `TRUST_PROXY: "${entry}" is not an IP address or subnet (use false, a hop count, or a list like 10.0.0.0/8,127.0.0.1)`,
      );
    }
  }
  return entries;
}

function parseOrigins(value: string | undefined, problems: string[]): string[] {
  if (!value) return [];
  return value.split(',').map((origin) => {
    const trimmed = origin.trim();
    if (trimmed !== '*' && !/^https?:\/\/[^/\s]+$/.test(trimmed)) {
      problems.push(`CORS_ORIGINS: "${trimmed}" is not an origin like https://app.example.com`);
    }
    return trimmed;
  });
}

function httpConnectionsConfig(
  environment: AppEnvironment,
  problems: string[],
): HttpConnectionsConfig {
  if (environment.HTTP_HEADERS_TIMEOUT_MS > environment.HTTP_REQUEST_TIMEOUT_MS) {
    problems.push(
      'HTTP_HEADERS_TIMEOUT_MS: must not be longer than HTTP_REQUEST_TIMEOUT_MS (the headers are part of the request)',
    );
  }
  if (environment.HTTP_SOCKET_TIMEOUT_MS < environment.HTTP_REQUEST_TIMEOUT_MS) {
    problems.push(
      'HTTP_SOCKET_TIMEOUT_MS: must not be shorter than HTTP_REQUEST_TIMEOUT_MS (it would cut requests still within it)',
    );
  }
  return {
    headersTimeoutMs: environment.HTTP_HEADERS_TIMEOUT_MS,
    requestTimeoutMs: environment.HTTP_REQUEST_TIMEOUT_MS,
    keepAliveTimeoutMs: environment.HTTP_KEEP_ALIVE_TIMEOUT_MS,
    socketTimeoutMs: environment.HTTP_SOCKET_TIMEOUT_MS,
    maxConnections: environment.HTTP_MAX_CONNECTIONS,
    maxConnectionsPerClient: environment.HTTP_MAX_CONNECTIONS_PER_CLIENT,
  };
}

export function appConfigFromEnvironment(
  environment: AppEnvironment,
  problems: string[],
): AppConfig {
  return {
    environment: environment.NODE_ENV,
    isProduction: environment.NODE_ENV === 'production',
    port: environment.PORT,
    host: environment.HOST,
    logLevel: environment.LOG_LEVEL,
    corsOrigins: parseOrigins(environment.CORS_ORIGINS, problems),
    trustProxy: parseTrustProxy(environment.TRUST_PROXY, problems),
    clientIpv6PrefixLength: environment.CLIENT_IPV6_PREFIX,
    bodyLimitBytes: environment.BODY_LIMIT_BYTES,
    publicBaseUrl: environment.PUBLIC_BASE_URL?.replace(/\/+$/, ''),
    swaggerEnabled: environment.SWAGGER_ENABLED,
    shutdownTimeoutMs: environment.SHUTDOWN_TIMEOUT_MS,
    backgroundRetryMaxMs: environment.BACKGROUND_RETRY_MAX_MS,
    http: httpConnectionsConfig(environment, problems),
  };
}
