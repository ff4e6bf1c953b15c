/** Independent references for the tests: brute-force fronts and simple hypervolumes. */

/** All 0/1 rows of length L with at most b ones. */
export function rowsWithin(L: number, b: number): number[][] {
  const out: number[][] = [];
  for (let m = 0; m < 1 << L; m++) {
    let ones = 0;
    for (let l = 0; l < L; l++) ones += (m >> l) & 1;
    if (ones <= b) out.push(Array.from({ length: L }, (_, l) => (m >> l) & 1));
  }
  return out;
}

/**
 * Exact Pareto front of the selection problem by enumerating every feasible mask. Objectives
 * are recomputed here with the textbook two-pass variance, independent of the package code.
 * Returns distinct objective vectors [-I, V] of the non-dominated masks.
 */
export function bruteForceFront(
  scores: number[][],
  budgets: number[],
): { front: number[][]; combos: number } {
  const C = scores.length;
  const L = scores[0].length;
  const rows = budgets.map((b) => rowsWithin(L, b));
  const combos = rows.reduce((p, r) => p * r.length, 1);
  const pts: number[][] = [];
  const idx = new Array<number>(C).fill(0);
  for (let t = 0; t < combos; t++) {
    let imp = 0;
    const n = new Array<number>(L).fill(0);
    for (let i = 0; i < C; i++) {
      const row = rows[i][idx[i]];
      for (let l = 0; l < L; l++) {
        if (row[l]) {
          imp += scores[i][l];
          n[l]++;
        }
      }
    }
    const mean = n.reduce((s, v) => s + v, 0) / L;
    const v = n.reduce((s, x) => s + (x - mean) ** 2, 0) / L;
    pts.push([-imp, v]);
    for (let i = 0; i < C; i++) {
      if (++idx[i] < rows[i].length) break;
      idx[i] = 0;
    }
  }
  // O(n log n) 2-D filter with a tolerance on V (floating noise of the two-pass variance).
  pts.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  const front: number[][] = [];
  let best = Infinity;
  for (const p of pts) {
    if (p[1] < best - 1e-9) {
      front.push(p);
      best = p[1];
    }
  }
  return { front, combos };
}

/**
 * Hypervolume (minimisation) by the midpoint rule over f1: the dominated height above each
 * column centre x is ref2 - (lowest f2 among points with f1 <= x). Independent of the sweep in
 * pareto.ts; error O(number of points * column width).
 */
export function columnHypervolume(
  points: number[][],
  ref: [number, number],
  lo: number,
  columns = 200_000,
): number {
  const w = (ref[0] - lo) / columns;
  const sorted = points.slice().sort((a, b) => a[0] - b[0]);
  let area = 0;
  let k = 0;
  let minF2 = Infinity;
  for (let c = 0; c < columns; c++) {
    const x = lo + (c + 0.5) * w;
    while (k < sorted.length && sorted[k][0] <= x) minF2 = Math.min(minF2, sorted[k++][1]);
    if (minF2 < ref[1]) area += w * (ref[1] - minF2);
  }
  return area;
}

/** Exact hypervolume of integer points by counting dominated unit cells (independent). */
export function cellCountHypervolume(points: number[][], ref: [number, number]): number {
  let count = 0;
  for (let a = 0; a < ref[0]; a++) {
    for (let b = 0; b < ref[1]; b++) {
      // Cell [a, a+1] x [b, b+1] is dominated when some point is <= its lower corner.
      if (points.some((p) => p[0] <= a && p[1] <= b)) count++;
    }
  }
  return count;
}

/** Monte Carlo hypervolume with a fixed LCG (independent of the package RNG). */
export function monteCarloHypervolume(
  points: number[][],
  ref: [number, number],
  lo: [number, number],
  samples = 200_000,
): number {
  let s = 12345;
  const rand = (): number => {
    s = (Math.imul(s, 1103515245) + 12345) >>> 0;
    return s / 4294967296;
  };
  let hit = 0;
  for (let t = 0; t < samples; t++) {
    const x = lo[0] + rand() * (ref[0] - lo[0]);
    const y = lo[1] + rand() * (ref[1] - lo[1]);
    if (points.some((p) => p[0] <= x && p[1] <= y)) hit++;
  }
  return (hit / samples) * (ref[0] - lo[0]) * (ref[1] - lo[1]);
}
