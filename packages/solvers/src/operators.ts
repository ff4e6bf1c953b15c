import type { Rng } from './rng.js';

/**
 * Variation operators (pymoo's defaults): two-point / uniform crossover and bit-flip mutation
 * for binary vectors; SBX crossover and polynomial mutation (Deb & Agrawal 1995) for reals.
 * All return new arrays; feasibility is restored afterwards by the problem's repair.
 */

export function twoPointCrossover(
  a: readonly number[],
  b: readonly number[],
  rng: Rng,
): [number[], number[]] {
  const n = a.length;
  let p = rng.int(n + 1);
  let q = rng.int(n + 1);
  if (p > q) [p, q] = [q, p];
  const c1 = a.slice();
  const c2 = b.slice();
  for (let j = p; j < q; j++) {
    c1[j] = b[j];
    c2[j] = a[j];
  }
  return [c1, c2];
}

export function uniformCrossover(
  a: readonly number[],
  b: readonly number[],
  rng: Rng,
): [number[], number[]] {
  const c1 = a.slice();
  const c2 = b.slice();
  for (let j = 0; j < a.length; j++) {
    if (rng.chance(0.5)) {
      c1[j] = b[j];
      c2[j] = a[j];
    }
  }
  return [c1, c2];
}

/**
 * Group-wise uniform crossover for grouped problems: each child takes every group (a client's
 * whole mask) from one parent or the other. Keeps each client's row feasible and intact.
 */
export function groupCrossover(
  a: readonly number[],
  b: readonly number[],
  groupSize: number,
  rng: Rng,
): [number[], number[]] {
  const c1 = a.slice();
  const c2 = b.slice();
  for (let g = 0; g * groupSize < a.length; g++) {
    if (!rng.chance(0.5)) continue;
    for (let j = g * groupSize; j < (g + 1) * groupSize; j++) {
      c1[j] = b[j];
      c2[j] = a[j];
    }
  }
  return [c1, c2];
}

/**
 * Flip each bit with probability p (default 1/n). Draws the gaps between flipped bits from the
 * geometric distribution instead of one uniform per bit (same distribution, ~n times fewer draws).
 */
export function bitFlip(x: number[], rng: Rng, p = 1 / x.length): number[] {
  if (p <= 0) return x;
  if (p >= 1) {
    for (let j = 0; j < x.length; j++) x[j] = 1 - x[j];
    return x;
  }
  const logq = Math.log(1 - p);
  for (
    let j = Math.floor(Math.log(1 - rng.next()) / logq);
    j < x.length;
    j += 1 + Math.floor(Math.log(1 - rng.next()) / logq)
  ) {
    x[j] = 1 - x[j];
  }
  return x;
}

/**
 * Simulated binary crossover (Deb & Agrawal 1995), pymoo's variant: each variable is crossed
 * with probability 0.5, distribution index eta (default 15).
 */
export function sbx(
  a: readonly number[],
  b: readonly number[],
  lower: readonly number[],
  upper: readonly number[],
  rng: Rng,
  eta = 15,
): [number[], number[]] {
  const c1 = a.slice();
  const c2 = b.slice();
  for (let j = 0; j < a.length; j++) {
    if (!rng.chance(0.5) || Math.abs(a[j] - b[j]) <= 1e-14) continue;
    const y1 = Math.min(a[j], b[j]);
    const y2 = Math.max(a[j], b[j]);
    const lo = lower[j];
    const hi = upper[j];
    const r = rng.next();
    const spread = (beta: number): number => {
      const alpha = 2 - Math.pow(beta, -(eta + 1));
      return r <= 1 / alpha
        ? Math.pow(r * alpha, 1 / (eta + 1))
        : Math.pow(1 / (2 - r * alpha), 1 / (eta + 1));
    };
    const bq1 = spread(1 + (2 * (y1 - lo)) / (y2 - y1));
    const bq2 = spread(1 + (2 * (hi - y2)) / (y2 - y1));
    let v1 = 0.5 * (y1 + y2 - bq1 * (y2 - y1));
    let v2 = 0.5 * (y1 + y2 + bq2 * (y2 - y1));
    v1 = Math.min(Math.max(v1, lo), hi);
    v2 = Math.min(Math.max(v2, lo), hi);
    if (rng.chance(0.5)) [v1, v2] = [v2, v1];
    c1[j] = v1;
    c2[j] = v2;
  }
  return [c1, c2];
}

/** Polynomial mutation (Deb & Goyal 1996), per-variable probability p (default 1/n), index eta. */
export function polynomialMutation(
  x: number[],
  lower: readonly number[],
  upper: readonly number[],
  rng: Rng,
  eta = 20,
  p = 1 / x.length,
): number[] {
  for (let j = 0; j < x.length; j++) {
    if (!rng.chance(p)) continue;
    const lo = lower[j];
    const hi = upper[j];
    const span = hi - lo;
    if (span <= 0) continue;
    const d1 = (x[j] - lo) / span;
    const d2 = (hi - x[j]) / span;
    const r = rng.next();
    const mpow = 1 / (eta + 1);
    let dq: number;
    if (r < 0.5) {
      const val = 2 * r + (1 - 2 * r) * Math.pow(1 - d1, eta + 1);
      dq = Math.pow(val, mpow) - 1;
    } else {
      const val = 2 * (1 - r) + 2 * (r - 0.5) * Math.pow(1 - d2, eta + 1);
      dq = 1 - Math.pow(val, mpow);
    }
    x[j] = Math.min(Math.max(x[j] + dq * span, lo), hi);
  }
  return x;
}
