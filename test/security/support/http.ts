import supertest from 'supertest';

/** Longer than any honest answer of the service under test; past it the request counts as hung. */
export const REQUEST_TIMEOUT_MS = 5_000;

/** The body's keys and the type of each value: what a client can compare without the values. */
export function shapeOf(body: unknown): Record<string, string> {
  if (body === null || typeof body !== 'object') return { '(body)': typeof body };
  return Object.fromEntries(
    Object.entries(body as Record<string, unknown>).map(([key, value]) => [
      key,
      value === null ? 'null' : Array.isArray(value) ? 'array' : typeof value,
    ]),
  );
}

export function headerNames(response: supertest.Response): string[] {
  return Object.keys(response.headers).sort();
}

/** The problem with an answer, or undefined: no 5xx, and every 4xx in the error envelope. */
export function envelopeProblem(response: supertest.Response): string | undefined {
  if (response.status >= 500)
    return `answered ${response.status}: ${JSON.stringify(response.body)}`;
  if (response.status < 400) return undefined;
  const body = response.body as Record<string, unknown> | undefined;
  const isEnvelope =
    body !== undefined &&
    body !== null &&
    body.success === false &&
    typeof body.message === 'string' &&
    body.message.length > 0 &&
    typeof body.error === 'string' &&
    /^[A-Z][A-Z0-9_]*$/.test(body.error);
  return isEnvelope
    ? undefined
    : `answered ${response.status} outside the error envelope: ${JSON.stringify(body)}`;
}

export function median(values: number[]): number {
  const sorted = [...values].sort((left, right) => left - right);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
}
