import autocannon from 'autocannon';

export interface LoadOptions {
  url: string;
  method?: 'GET' | 'POST';
  path: string;
  connections: number;
  /** Seconds of measured load; ignored when `amount` is set. */
  durationSeconds?: number;
  /** Exactly this many requests (e.g. one per prepared verification). */
  amount?: number;
  /** Builds the JSON body of each request (called once per request, across connections). */
  body?: () => unknown;
  headers?: Record<string, string>;
  /** Per-request timeout in seconds. */
  timeoutSeconds?: number;
}

export interface LoadResult {
  requestsPerSecond: number;
  /** Spread of the per-second throughput samples: how steady the run was. */
  requestsPerSecondStddev: number;
  latencyMs: { p50: number; p97_5: number; p99: number; mean: number; max: number };
  requests: number;
  durationSeconds: number;
  statusCodes: Record<string, number>;
  /** Connection errors and timeouts (no HTTP status at all). */
  errors: number;
  timeouts: number;
  non2xx: number;
}

/**
 * One autocannon run. Bodies are built per request by the caller's generator, so every request
 * can carry a unique phone number whichever connection sends it.
 */
export async function runLoad(options: LoadOptions): Promise<LoadResult> {
  const request: autocannon.Request = {
    method: options.method ?? 'GET',
    path: options.path,
    headers: {
      ...(options.body ? { 'content-type': 'application/json' } : {}),
      ...options.headers,
    },
  };
  if (options.body) {
    const makeBody = options.body;
    request.setupRequest = (base) => ({ ...base, body: JSON.stringify(makeBody()) });
  }
  const result = await autocannon({
    url: options.url,
    connections: options.connections,
    ...(options.amount === undefined
      ? { duration: options.durationSeconds ?? 10 }
      : { amount: options.amount }),
    timeout: options.timeoutSeconds ?? 10,
    requests: [request],
  });
  const requests = result['2xx'] + result.non2xx;
  return {
    requestsPerSecond: Math.round(requests / result.duration),
    requestsPerSecondStddev: Math.round(result.requests.stddev),
    latencyMs: {
      p50: result.latency.p50,
      p97_5: result.latency.p97_5,
      p99: result.latency.p99,
      mean: result.latency.mean,
      max: result.latency.max,
    },
    requests,
    durationSeconds: result.duration,
    statusCodes: Object.fromEntries(
      Object.entries(result.statusCodeStats).map(([code, { count }]) => [code, count]),
    ),
    errors: result.errors,
    timeouts: result.timeouts,
    non2xx: result.non2xx,
  };
}
