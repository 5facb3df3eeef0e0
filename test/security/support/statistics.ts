/**
 * Mann-Whitney U test: how likely two samples of timings come from one distribution, without
 * assuming a shape (request times are skewed, with a long tail). Normal approximation with the
 * tie correction, fine from about 20 values per sample. Answers the two-sided p-value.
 */
export function mannWhitneyP(first: number[], second: number[]): number {
  const values = [
    ...first.map((value) => ({ value, group: 0 })),
    ...second.map((value) => ({ value, group: 1 })),
  ].sort((a, b) => a.value - b.value);
  const ranks = new Array<number>(values.length);
  let tieTerm = 0;
  for (let start = 0; start < values.length;) {
    let end = start;
    while (end + 1 < values.length && values[end + 1].value === values[start].value) end += 1;
    const rank = (start + end) / 2 + 1;
    for (let index = start; index <= end; index += 1) ranks[index] = rank;
    const tied = end - start + 1;
    tieTerm += tied ** 3 - tied;
    start = end + 1;
  }
  const n1 = first.length;
  const n2 = second.length;
  const rankSum = values.reduce(
    (sum, entry, index) => sum + (entry.group === 0 ? ranks[index] : 0),
    0,
  );
  const u = rankSum - (n1 * (n1 + 1)) / 2;
  const mean = (n1 * n2) / 2;
  const n = n1 + n2;
  const variance = ((n1 * n2) / 12) * (n + 1 - tieTerm / (n * (n - 1)));
  if (variance === 0) return 1;
  const z = Math.abs(u - mean) / Math.sqrt(variance);
  return 2 * (1 - standardNormalCdf(z));
}

/** Φ(z) by the Abramowitz-Stegun 7.1.26 approximation of erf (error below 1.5e-7). */
function standardNormalCdf(z: number): number {
  const x = Math.abs(z) / Math.SQRT2;
  const t = 1 / (1 + 0.3275911 * x);
  const polynomial =
    t *
    (0.254829592 + t * (-0.284496736 + t * (1.421413741 + t * (-1.453152027 + t * 1.061405429))));
  const erf = 1 - polynomial * Math.exp(-x * x);
  return z >= 0 ? (1 + erf) / 2 : (1 - erf) / 2;
}

/**
 * Wilcoxon signed-rank test on paired timings (each pair measured back to back): whether one of
 * the two is systematically slower. Pairing cancels the load that drifts over a run on a busy
 * machine, which swamps a millisecond between unpaired samples. Normal approximation with the
 * tie correction; zero differences are dropped. Answers the two-sided p-value.
 */
export function wilcoxonSignedRankP(first: number[], second: number[]): number {
  const differences = first
    .map((value, index) => value - second[index])
    .filter((difference) => difference !== 0)
    .sort((a, b) => Math.abs(a) - Math.abs(b));
  const n = differences.length;
  if (n === 0) return 1;
  let positiveRankSum = 0;
  let tieTerm = 0;
  for (let start = 0; start < n;) {
    let end = start;
    while (end + 1 < n && Math.abs(differences[end + 1]) === Math.abs(differences[start])) end += 1;
    const rank = (start + end) / 2 + 1;
    for (let index = start; index <= end; index += 1) {
      if (differences[index] > 0) positiveRankSum += rank;
    }
    const tied = end - start + 1;
    tieTerm += tied ** 3 - tied;
    start = end + 1;
  }
  const mean = (n * (n + 1)) / 4;
  const variance = (n * (n + 1) * (2 * n + 1)) / 24 - tieTerm / 48;
  if (variance === 0) return 1;
  const z = Math.abs(positiveRankSum - mean) / Math.sqrt(variance);
  return 2 * (1 - standardNormalCdf(z));
}
