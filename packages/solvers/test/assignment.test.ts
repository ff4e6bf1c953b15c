import { describe, expect, it } from 'vitest';
import {
  bestAssignmentForCounts,
  bestAssignmentForCountsContracted,
  bestAssignmentForCountsSpfa,
} from '../src/assignment.js';
import { LayerSelectionProblem, randomSelectionInput, Rng } from '../src/index.js';
import { rowsWithin } from './helpers.js';

/** Brute force: for every reachable layer-count vector, the highest importance. */
function bestByCounts(scores: number[][], budgets: number[]): Map<string, number> {
  const L = scores[0].length;
  const rows = budgets.map((b) => rowsWithin(L, b));
  const best = new Map<string, number>();
  const rec = (i: number, n: number[], imp: number): void => {
    if (i === scores.length) {
      const k = n.join(',');
      if (!(best.get(k)! >= imp)) best.set(k, imp);
      return;
    }
    for (const r of rows[i]) {
      rec(
        i + 1,
        n.map((v, l) => v + r[l]),
        imp + r.reduce((s, m, l) => s + m * scores[i][l], 0),
      );
    }
  };
  rec(0, new Array<number>(L).fill(0), 0);
  return best;
}

const SOLVERS = {
  dispatch: bestAssignmentForCounts,
  spfa: bestAssignmentForCountsSpfa,
  contracted: bestAssignmentForCountsContracted,
};

describe.each(Object.keys(SOLVERS) as (keyof typeof SOLVERS)[])('min-cost flow (%s)', (name) => {
  const solver = SOLVERS[name];
  for (const [C, L, seed, budgets] of [
    [3, 5, 1, [2, 1, 3]],
    [4, 4, 2, [2, 2, 1, 3]],
    [5, 4, 3, [1, 2, 1, 2, 2]],
    [9, 2, 4, [1, 2, 1, 2, 2, 1, 1, 2, 1]],
  ] as [number, number, number, number[]][]) {
    it(`matches brute force for every reachable count vector (${C}x${L})`, () => {
      const { scores } = randomSelectionInput(C, L, seed, { budgets });
      const brute = bestByCounts(scores, budgets);
      expect(brute.size).toBeGreaterThan(10);
      for (const [key, imp] of brute) {
        const counts = key.split(',').map(Number);
        const masks = solver(scores, budgets, counts);
        expect(masks).not.toBeNull();
        const got = masks!.reduce(
          (s, row, i) => s + row.reduce((u, m, l) => u + m * scores[i][l], 0),
          0,
        );
        expect(got).toBeCloseTo(imp, 12);
        // Same counts, within budgets.
        expect(counts.map((_, l) => masks!.reduce((s, row) => s + row[l], 0))).toEqual(counts);
        masks!.forEach((row, i) =>
          expect(row.reduce((s, v) => s + v, 0)).toBeLessThanOrEqual(budgets[i]),
        );
      }
    });
  }

  it('returns null for counts the budgets cannot reach', () => {
    const { scores } = randomSelectionInput(2, 3, 1, { budgets: [1, 1] });
    expect(solver(scores, [1, 1], [2, 1, 0])).toBeNull();
    expect(solver(scores, [1, 1], [3, 0, 0])).toBeNull();
  });

  it('stops with null when shouldStop says so', () => {
    const { scores, budgets } = randomSelectionInput(40, 5, 9, { minBudget: 2, maxBudget: 4 });
    expect(solver(scores, budgets, [8, 8, 8, 8, 8], () => true)).toBeNull();
    expect(solver(scores, budgets, [8, 8, 8, 8, 8], () => false)).not.toBeNull();
  });
});

describe('bestAssignmentForCounts', () => {
  it('contracted and SPFA solvers reach the same optimum on larger random instances', () => {
    const imp = (scores: number[][], m: number[][]): number =>
      m.reduce((s, row, i) => s + row.reduce((u, v, l) => u + v * scores[i][l], 0), 0);
    for (let seed = 1; seed <= 40; seed++) {
      const rng = new Rng(seed);
      const C = 2 + rng.int(60);
      const L = 2 + rng.int(10);
      const input = randomSelectionInput(C, L, seed, { minBudget: 1, maxBudget: L });
      const p = new LayerSelectionProblem(input);
      const x = p.sample(rng);
      const counts = Array.from({ length: L }, (_, l) =>
        Array.from({ length: C }, (_, i) => x[i * L + l]).reduce((s, v) => s + v, 0),
      );
      const a = bestAssignmentForCountsContracted(input.scores, input.budgets, counts)!;
      const b = bestAssignmentForCountsSpfa(input.scores, input.budgets, counts)!;
      expect(imp(input.scores, a)).toBeCloseTo(imp(input.scores, b), 10);
      // Both are at least as good as the sampled mask with these counts.
      expect(imp(input.scores, a)).toBeGreaterThanOrEqual(-p.evaluate(x)[0] - 1e-12);
      expect(counts.map((_, l) => a.reduce((s, row) => s + row[l], 0))).toEqual(counts);
      a.forEach((row, i) =>
        expect(row.reduce((s, v) => s + v, 0)).toBeLessThanOrEqual(input.budgets[i]),
      );
    }
  });

  it('improve keeps V, never lowers I, and skips counts it has seen', () => {
    const p = new LayerSelectionProblem(
      randomSelectionInput(9, 24, 4, { minBudget: 2, maxBudget: 8 }),
    );
    const rng = new Rng(3);
    const seen = new Set<string>();
    let improved = 0;
    for (let t = 0; t < 30; t++) {
      const x = p.sample(rng);
      const y = p.improve(x, seen);
      if (!y) continue;
      improved++;
      expect(p.isFeasible(y)).toBe(true);
      expect(p.evaluate(y)[1]).toBe(p.evaluate(x)[1]);
      expect(p.evaluate(y)[0]).toBeLessThan(p.evaluate(x)[0]);
      expect(p.improve(x, seen)).toBeNull();
    }
    expect(improved).toBeGreaterThan(20);
  });
});
