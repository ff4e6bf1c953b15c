import { Rng } from './rng.js';
import type { SelectionInput } from './selection-input.js';

/**
 * Seeded random selection instances for tests and benchmarks: each client's scores are a
 * Dirichlet(concentration) draw (Gamma variates, Marsaglia & Tsang 2000), skewed like real LNTK
 * rows for concentration < 1; budgets uniform in [minBudget, maxBudget] unless given.
 */
export function randomSelectionInput(
  clients: number,
  layers: number,
  seed: number,
  opts: { concentration?: number; budgets?: number[]; minBudget?: number; maxBudget?: number } = {},
): SelectionInput {
  const rng = new Rng(seed);
  const a = opts.concentration ?? 0.7;
  const scores = Array.from({ length: clients }, () => {
    const w = Array.from({ length: layers }, () => gamma(a, rng) + 1e-12);
    const s = w.reduce((p, v) => p + v, 0);
    return w.map((v) => v / s);
  });
  const lo = opts.minBudget ?? 1;
  const hi = Math.min(layers, opts.maxBudget ?? Math.max(1, Math.ceil(layers / 3)));
  const budgets = opts.budgets ?? Array.from({ length: clients }, () => lo + rng.int(hi - lo + 1));
  return { scores, budgets };
}

function gamma(shape: number, rng: Rng): number {
  if (shape < 1) return gamma(shape + 1, rng) * Math.pow(rng.next() || 1e-300, 1 / shape);
  const d = shape - 1 / 3;
  const c = 1 / Math.sqrt(9 * d);
  for (;;) {
    let x: number;
    let v: number;
    do {
      x = rng.normal();
      v = 1 + c * x;
    } while (v <= 0);
    v = v * v * v;
    const u = rng.next();
    if (u < 1 - 0.0331 * x ** 4 || Math.log(u) < 0.5 * x * x + d * (1 - v + Math.log(v)))
      return d * v;
  }
}
