/**
 * Response-time histograms as the analytics tables store them: one integer array per row, the
 * count of responses in each bucket. A bucket holds the times above the previous bound up to and
 * including its own bound (whole milliseconds); the last one holds everything slower than the
 * last bound.
 *
 * The bounds are 1 ms apart up to 10 ms and at most 25 % apart above, so a percentile read as
 * "the upper bound of its bucket" is never more than a quarter above the true value (1 ms below
 * 10 ms), and never below it. The alert thresholds that matter (500 ms, 1 s, 2 s, 5 s) are
 * bounds themselves, so "p95 above 2 s" is decided exactly. Stored arrays are only meaningful
 * with these bounds: changing them needs a migration that rebuilds the histograms.
 */
export const RESPONSE_TIME_BOUNDS_MS: readonly number[] = [
  1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 12, 14, 16, 18, 20, 22, 25, 30, 35, 40, 45, 50, 60, 70, 80, 90,
  100, 120, 140, 160, 180, 200, 220, 250, 300, 350, 400, 450, 500, 600, 700, 800, 900, 1000, 1200,
  1400, 1600, 1800, 2000, 2200, 2500, 3000, 3500, 4000, 4500, 5000, 6000, 7000, 8000, 9000, 10000,
  12000, 14000, 16000, 18000, 20000, 25000, 30000, 35000, 40000, 50000, 60000,
];

/** Buckets per histogram: one per bound, and one for slower responses. */
export const RESPONSE_TIME_BUCKETS = RESPONSE_TIME_BOUNDS_MS.length + 1;

/** The bucket of a response time (ms, rounded up to whole milliseconds). */
export function bucketOf(milliseconds: number): number {
  const value = Math.ceil(Math.max(0, milliseconds));
  let low = 0;
  let high = RESPONSE_TIME_BOUNDS_MS.length;
  while (low < high) {
    const middle = (low + high) >> 1;
    if (RESPONSE_TIME_BOUNDS_MS[middle] >= value) high = middle;
    else low = middle + 1;
  }
  return low;
}

/**
 * The same bucket in SQL, for `response_time_ms` (an integer column). `width_bucket` takes the
 * lower bounds of the buckets after the first: a time t belongs above bound b when t ≥ b + 1.
 */
export function sqlBucketOf(column: string): string {
  return `width_bucket(${column}, '{${RESPONSE_TIME_BOUNDS_MS.map((bound) => bound + 1).join(',')}}'::integer[])`;
}

/** SQL that adds two stored histograms element by element (a missing element counts as 0). */
export function sqlAddHistograms(left: string, right: string): string {
  return `ARRAY(SELECT COALESCE(a, 0) + COALESCE(b, 0)
                  FROM unnest(${left}, ${right}) WITH ORDINALITY AS h (a, b, position)
                 ORDER BY position)::integer[]`;
}

export function emptyHistogram(): number[] {
  return new Array<number>(RESPONSE_TIME_BUCKETS).fill(0);
}

/** Adds `source` (as stored: numbers or numeric strings, maybe shorter) into `target`. */
export function addInto(target: number[], source: readonly (number | string)[] | null): void {
  if (!source) return;
  for (let index = 0; index < Math.min(target.length, source.length); index += 1) {
    target[index] += Number(source[index]);
  }
}

/**
 * The percentile (0-1) as the upper bound of the bucket it falls in: at or above the true value,
 * by at most the bucket's width. Null without data; beyond the last bound, that bound (the answer
 * then reads "at least").
 */
export function percentileOf(histogram: readonly number[], fraction: number): number | null {
  const total = histogram.reduce((sum, count) => sum + count, 0);
  if (total === 0) return null;
  const rank = Math.max(1, Math.ceil(total * fraction));
  let seen = 0;
  for (let index = 0; index < histogram.length; index += 1) {
    seen += histogram[index];
    if (seen >= rank) {
      return RESPONSE_TIME_BOUNDS_MS[Math.min(index, RESPONSE_TIME_BOUNDS_MS.length - 1)];
    }
  }
  return RESPONSE_TIME_BOUNDS_MS[RESPONSE_TIME_BOUNDS_MS.length - 1];
}
