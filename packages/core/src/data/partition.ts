// Partition helpers for simulations with more sites than the nine clients: split one client's
// samples IID or with Dirichlet label skew (the usual non-IID benchmark split).

import { gaussian, mulberry32, shuffleInPlace } from '../random.js';
import type { VqaSample } from './types.js';

/** Deals samples round-robin after a seeded shuffle: k parts whose sizes differ by <= 1. */
export function partitionIid<T>(samples: readonly T[], k: number, seed: number): T[][] {
  if (!Number.isInteger(k) || k < 1) throw new Error(`k must be a positive integer, got ${k}`);
  const order = shuffleInPlace([...samples], mulberry32(seed));
  const parts: T[][] = Array.from({ length: k }, () => []);
  order.forEach((s, i) => parts[i % k].push(s));
  return parts;
}

/** Gamma(shape, 1) draw (Marsaglia & Tsang 2000; shape < 1 via the u^(1/a) boost). */
export function sampleGamma(shape: number, rand: () => number): number {
  if (!(shape > 0)) throw new Error(`gamma shape must be > 0, got ${shape}`);
  if (shape < 1) return sampleGamma(shape + 1, rand) * Math.pow(rand() || 1e-12, 1 / shape);
  const d = shape - 1 / 3;
  const c = 1 / Math.sqrt(9 * d);
  for (;;) {
    const x = gaussian(rand);
    const v = (1 + c * x) ** 3;
    if (v <= 0) continue;
    const u = rand();
    if (Math.log(u || 1e-300) < 0.5 * x * x + d - d * v + d * Math.log(v)) return d * v;
  }
}

/** Dirichlet(alpha, ..., alpha) draw of dimension k. */
export function sampleDirichlet(k: number, alpha: number, rand: () => number): number[] {
  const g = Array.from({ length: k }, () => sampleGamma(alpha, rand));
  const s = g.reduce((a, b) => a + b, 0);
  return g.map((x) => x / s);
}

/**
 * Label-skewed split: for each answer, its samples are divided among the k parts in
 * proportions drawn from Dirichlet(alpha) (small alpha = strong skew, large = near IID).
 */
export function partitionDirichlet(
  samples: readonly VqaSample[],
  k: number,
  alpha: number,
  seed: number,
): VqaSample[][] {
  if (!Number.isInteger(k) || k < 1) throw new Error(`k must be a positive integer, got ${k}`);
  if (!(alpha > 0)) throw new Error(`alpha must be > 0, got ${alpha}`);
  const rand = mulberry32(seed);
  const byAnswer = new Map<string, VqaSample[]>();
  for (const s of samples) {
    const g = byAnswer.get(s.answer);
    if (g) g.push(s);
    else byAnswer.set(s.answer, [s]);
  }
  const parts: VqaSample[][] = Array.from({ length: k }, () => []);
  for (const answer of [...byAnswer.keys()].sort()) {
    const group = shuffleInPlace(byAnswer.get(answer) as VqaSample[], rand);
    const p = sampleDirichlet(k, alpha, rand);
    let start = 0;
    let acc = 0;
    p.forEach((q, j) => {
      acc += q;
      const end = j === k - 1 ? group.length : Math.round(acc * group.length);
      parts[j].push(...group.slice(start, end));
      start = end;
    });
  }
  return parts;
}
