// Rank correlation for judging layer scorers against measured per-layer gains (scripts/lntk-report.ts).

/** Spearman's rho with average ranks for ties; null when either side is constant. */
export function spearman(a: readonly number[], b: readonly number[]): number | null {
  const rank = (x: readonly number[]) => {
    const idx = x.map((_, i) => i).sort((i, j) => x[i] - x[j]);
    const r = new Array<number>(x.length);
    for (let s = 0; s < idx.length;) {
      let e = s;
      while (e + 1 < idx.length && x[idx[e + 1]] === x[idx[s]]) e++;
      for (let k = s; k <= e; k++) r[idx[k]] = (s + e) / 2;
      s = e + 1;
    }
    return r;
  };
  const ra = rank(a);
  const rb = rank(b);
  const mean = (x: number[]) => x.reduce((p, q) => p + q, 0) / x.length;
  const ma = mean(ra);
  const mb = mean(rb);
  let num = 0;
  let da = 0;
  let db = 0;
  for (let i = 0; i < ra.length; i++) {
    num += (ra[i] - ma) * (rb[i] - mb);
    da += (ra[i] - ma) ** 2;
    db += (rb[i] - mb) ** 2;
  }
  return da === 0 || db === 0 ? null : num / Math.sqrt(da * db);
}
