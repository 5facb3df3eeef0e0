import {
  RESPONSE_TIME_BOUNDS_MS,
  RESPONSE_TIME_BUCKETS,
  addInto,
  bucketOf,
  emptyHistogram,
  percentileOf,
} from './response-time-histogram';

function histogramOf(times: number[]): number[] {
  const histogram = emptyHistogram();
  for (const time of times) histogram[bucketOf(time)] += 1;
  return histogram;
}

/** The true percentile of a sample, nearest-rank. */
function exact(times: number[], fraction: number): number {
  const sorted = [...times].sort((left, right) => left - right);
  return sorted[Math.max(1, Math.ceil(sorted.length * fraction)) - 1];
}

describe('response-time histogram', () => {
  it('puts a time in the bucket whose bound is the first at or above it', () => {
    expect(bucketOf(0)).toBe(0);
    expect(bucketOf(1)).toBe(0);
    expect(bucketOf(1.2)).toBe(1);
    expect(bucketOf(94)).toBe(RESPONSE_TIME_BOUNDS_MS.indexOf(100));
    expect(bucketOf(2000)).toBe(RESPONSE_TIME_BOUNDS_MS.indexOf(2000));
    expect(bucketOf(2001)).toBe(RESPONSE_TIME_BOUNDS_MS.indexOf(2000) + 1);
    expect(bucketOf(10 * 60_000)).toBe(RESPONSE_TIME_BUCKETS - 1);
  });

  it('has buckets at most 25 % wide above 10 ms, and the alert thresholds as bounds', () => {
    for (let index = 1; index < RESPONSE_TIME_BOUNDS_MS.length; index += 1) {
      const [lower, upper] = [RESPONSE_TIME_BOUNDS_MS[index - 1], RESPONSE_TIME_BOUNDS_MS[index]];
      expect(upper).toBeGreaterThan(lower);
      if (lower >= 10) expect(upper / lower).toBeLessThanOrEqual(1.25);
      else expect(upper - lower).toBe(1);
    }
    for (const threshold of [500, 1000, 2000, 5000]) {
      expect(RESPONSE_TIME_BOUNDS_MS).toContain(threshold);
    }
  });

  it('reads one 94 ms response as p50 = 100 ms, not 50', () => {
    expect(percentileOf(histogramOf([94]), 0.5)).toBe(100);
  });

  it('reads responses of 5-13 ms as about that, not 50 and 95 ms', () => {
    const times = [5, 6, 7, 8, 9, 10, 11, 12, 13];
    expect(percentileOf(histogramOf(times), 0.5)).toBe(9);
    expect(percentileOf(histogramOf(times), 0.95)).toBe(14);
  });

  it('never reports below the true percentile, nor more than a quarter above it', () => {
    let seed = 7;
    const random = () => (seed = (seed * 48271) % 2147483647) / 2147483647;
    for (let sample = 0; sample < 50; sample += 1) {
      const times = Array.from({ length: 200 }, () => Math.round(Math.exp(1 + random() * 8)));
      const histogram = histogramOf(times);
      for (const fraction of [0.5, 0.95, 0.99]) {
        const truth = exact(times, fraction);
        const reported = percentileOf(histogram, fraction)!;
        expect(reported).toBeGreaterThanOrEqual(Math.min(truth, 60_000));
        expect(reported).toBeLessThanOrEqual(Math.max(truth * 1.25, truth + 1));
      }
    }
  });

  it('has no percentile without data, and adds stored histograms of any length', () => {
    expect(percentileOf(emptyHistogram(), 0.5)).toBeNull();
    const total = emptyHistogram();
    addInto(total, ['2', '1']);
    addInto(total, [1]);
    addInto(total, null);
    expect(total.slice(0, 3)).toEqual([3, 1, 0]);
  });
});
