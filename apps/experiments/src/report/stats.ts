/**
 * Summary statistics of the report: mean, sample standard deviation (n - 1), and the 95 %
 * Student-t interval of a mean of paired per-seed differences (the reporting standard for
 * learning claims in docs: >= 3 seeds, paired differences with 95 % intervals).
 */
import jStat from 'jstat';

export function mean(xs: readonly number[]): number {
  if (xs.length === 0) throw new Error('mean of no values');
  return xs.reduce((a, b) => a + b, 0) / xs.length;
}

/** Sample standard deviation (n - 1 denominator); 0 for a single value. */
export function sd(xs: readonly number[]): number {
  if (xs.length < 2) return 0;
  const m = mean(xs);
  return Math.sqrt(xs.reduce((a, x) => a + (x - m) ** 2, 0) / (xs.length - 1));
}

export interface PairedInterval {
  n: number;
  mean: number;
  sd: number;
  /** Bounds of the two-sided `level` t-interval; null with fewer than 2 pairs. */
  lo: number | null;
  hi: number | null;
  /** Two-sided p-value of the paired t-test of mean 0; null with fewer than 2 pairs. */
  p: number | null;
}

/**
 * Paired differences a[i] - b[i] over the keys both have (seeds), and the t-interval of their
 * mean: mean +- t_{(1+level)/2, n-1} sd / sqrt(n).
 */
export function pairedInterval(
  a: ReadonlyMap<number, number>,
  b: ReadonlyMap<number, number>,
  level = 0.95,
): PairedInterval {
  const diffs = [...a.keys()]
    .filter((k) => b.has(k))
    .sort((x, y) => x - y)
    .map((k) => a.get(k)! - b.get(k)!);
  const n = diffs.length;
  if (n === 0) return { n, mean: NaN, sd: NaN, lo: null, hi: null, p: null };
  const m = mean(diffs);
  const s = sd(diffs);
  if (n < 2) return { n, mean: m, sd: s, lo: null, hi: null, p: null };
  const se = s / Math.sqrt(n);
  const t = jStat.studentt.inv((1 + level) / 2, n - 1);
  const p = se === 0 ? (m === 0 ? 1 : 0) : 2 * (1 - jStat.studentt.cdf(Math.abs(m / se), n - 1));
  return { n, mean: m, sd: s, lo: m - t * se, hi: m + t * se, p };
}
