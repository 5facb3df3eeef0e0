/**
 * Label values with a known, small range. Every label value makes a time series of its own, so a
 * value that is not one of the expected ones (or one too many) becomes `other` rather than a new
 * series: Prometheus must never see phone numbers, sids or whatever a client made up.
 */

/** Values from a fixed list; `missing` when absent, `other` when unexpected. */
export function oneOf(
  allowed: ReadonlySet<string>,
  value: string | undefined,
  missing = 'none',
): string {
  if (value === undefined || value === '') return missing;
  return allowed.has(value) ? value : 'other';
}

/**
 * Values the code produces but does not list in one place (rate-limit layers, currencies): any
 * value of the expected shape, up to `max` different ones; later newcomers become `other`.
 */
export class OpenLabel {
  private readonly seen = new Set<string>();

  constructor(
    private readonly shape: RegExp,
    private readonly max: number,
  ) {}

  of(value: string | undefined, missing = 'none'): string {
    if (value === undefined || value === '') return missing;
    if (this.seen.has(value)) return value;
    if (!this.shape.test(value) || this.seen.size >= this.max) return 'other';
    this.seen.add(value);
    return value;
  }
}

const HTTP_METHODS = new Set(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS']);

export function httpMethod(method: string): string {
  return HTTP_METHODS.has(method) ? method : 'other';
}

/** The route template (`/admin/sms/holds/:id`), never the URL; `unmatched` for unknown paths. */
export function httpRoute(template: string | undefined): string {
  return template === undefined || template === '' ? 'unmatched' : template;
}
