import { describe, expect, it } from 'vitest';
import { bestAssignmentForCounts } from '../src/assignment.js';
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

describe('bestAssignmentForCounts (min-cost flow)', () => {
  for (const [C, L, seed, budgets] of [
    [3, 5, 1, [2, 1, 3]],
    [4, 4, 2, [2, 2, 1, 3]],
    [5, 4, 3, [1, 2, 1, 2, 2]],
  ] as [number, number, number, number[]][]) {
    it(`matches brute force for every reachable count vector (${C}x${L})`, () => {
      const { scores } = randomSelectionInput(C, L, seed, { budgets });
      const brute = bestByCounts(scores, budgets);
      expect(brute.size).toBeGreaterThan(10);
      for (const [key, imp] of brute) {
        const counts = key.split(',').map(Number);
        const masks = bestAssignmentForCounts(scores, budgets, counts);
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
    expect(bestAssignmentForCounts(scores, [1, 1], [2, 1, 0])).toBeNull();
    expect(bestAssignmentForCounts(scores, [1, 1], [3, 0, 0])).toBeNull();
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
