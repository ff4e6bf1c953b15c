import { describe, expect, it } from 'vitest';
import {
  ALGORITHMS,
  createAlgorithm,
  LayerSelectionProblem,
  randomSelectionInput,
  solveSelection,
} from '../src/index.js';

/**
 * Time budgets on coordinator-sized instances (1,000 clients): the first step (seeds, initial
 * population, polishes) used to be uninterruptible and took 2.5-3.2 s for 1,000 x 6 against a
 * 300 ms budget. The bound below is generous (a loaded 2-core box) but far below that.
 */
const BUDGET_MS = 300;
const WALL_BOUND_MS = 1500;

describe('time budget with 1,000 clients x 6 layers', () => {
  const input = randomSelectionInput(1000, 6, 7, { minBudget: 1, maxBudget: 3 });
  const p = new LayerSelectionProblem(input);
  // Client-only top-B importance: the greedy seed, evaluated first, is the max-importance end.
  const topB = input.scores.reduce(
    (s, row, i) =>
      s +
      row
        .slice()
        .sort((a, b) => b - a)
        .slice(0, input.budgets[i])
        .reduce((u, v) => u + v, 0),
    0,
  );

  it.each(ALGORITHMS)(
    '%s returns a feasible front within the bound',
    (algo) => {
      const t0 = performance.now();
      const run = createAlgorithm(algo, p, { seed: 1, maxTimeMs: BUDGET_MS });
      while (!run.done()) run.step();
      const res = run.result();
      const wall = performance.now() - t0;
      expect(wall).toBeLessThan(WALL_BOUND_MS);
      expect(res.front.length).toBeGreaterThan(0);
      for (const s of res.front) expect(p.isFeasible(s.x)).toBe(true);
      expect(-res.front[0].f[0]).toBeCloseTo(topB, 9);
    },
    20_000,
  );

  it('solveSelection honours maxTimeMs end to end', () => {
    const t0 = performance.now();
    const r = solveSelection(input, { algo: 'nsga2', seed: 2, maxTimeMs: BUDGET_MS });
    expect(performance.now() - t0).toBeLessThan(WALL_BOUND_MS);
    expect(r.front[r.selected].masks).toHaveLength(1000);
  }, 20_000);
});
