import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import {
  ALGORITHMS,
  bounds,
  createAlgorithm,
  dominates,
  LayerSelectionProblem,
  normalizedHypervolume,
  randomSelectionInput,
  selectionObjectives,
  solve,
  type AlgorithmResult,
} from '../src/index.js';
import { bruteForceFront } from './helpers.js';

/** Small instances whose feasible masks can all be enumerated (<= 2^18 combinations). */
const SMALL = [
  { C: 6, L: 4, seed: 101, budgets: [1, 2, 1, 2, 1, 1] },
  { C: 4, L: 5, seed: 102, budgets: [2, 1, 3, 2] },
  { C: 4, L: 6, seed: 103, budgets: [2, 2, 2, 2] },
  { C: 5, L: 5, seed: 104, budgets: [2, 1, 2, 1, 2] },
].map((c) => {
  const input = randomSelectionInput(c.C, c.L, c.seed, { budgets: c.budgets });
  return { ...c, input, exact: bruteForceFront(input.scores, input.budgets) };
});

function checkResult(p: LayerSelectionProblem, res: AlgorithmResult): void {
  expect(res.front.length).toBeGreaterThan(0);
  for (const s of res.front) {
    expect(p.isFeasible(s.x)).toBe(true);
    const o = selectionObjectives(p.scores as number[][], p.toMasks(s.x));
    expect(-s.f[0]).toBeCloseTo(o.importance, 12);
    expect(s.f[1]).toBeCloseTo(o.variance, 12);
  }
  for (const a of res.front) for (const b of res.front) expect(dominates(a.f, b.f)).toBe(false);
}

describe.each(ALGORITHMS)('%s on enumerable instances', (algo) => {
  it('reaches >= 0.98 of the exact (brute-force) front hypervolume; masks feasible; objectives recomputed', () => {
    for (const inst of SMALL) {
      expect(inst.exact.combos).toBeLessThanOrEqual(2 ** 18);
      const p = new LayerSelectionProblem(inst.input);
      const res = solve(p, { algo, seed: 7, maxEvaluations: 4000 });
      checkResult(p, res);
      const { ideal, nadir } = bounds(inst.exact.front);
      const exactHv = normalizedHypervolume(inst.exact.front, ideal, nadir);
      const hv = normalizedHypervolume(
        res.front.map((s) => s.f),
        ideal,
        nadir,
      );
      // No algorithm point may beat the exact front (tolerance for variance rounding).
      for (const s of res.front) {
        expect(inst.exact.front.some((e) => e[0] <= s.f[0] + 1e-9 && e[1] <= s.f[1] + 1e-9)).toBe(
          true,
        );
      }
      expect(hv / exactHv).toBeGreaterThanOrEqual(0.98);
      expect(hv / exactHv).toBeLessThanOrEqual(1 + 1e-9);
    }
  });

  it('same seed gives an identical front; different seeds differ', () => {
    const p = new LayerSelectionProblem(
      randomSelectionInput(9, 24, 5, { minBudget: 2, maxBudget: 8 }),
    );
    const a = solve(p, { algo, seed: 3, maxEvaluations: 1500 });
    const b = solve(p, { algo, seed: 3, maxEvaluations: 1500 });
    const c = solve(p, { algo, seed: 4, maxEvaluations: 1500 });
    expect(b.front).toEqual(a.front);
    expect(b.evaluations).toBe(a.evaluations);
    expect(c.front).not.toEqual(a.front);
  });

  it('step API and one-shot solve agree; the evaluation budget is respected', () => {
    const p = new LayerSelectionProblem(
      randomSelectionInput(5, 12, 6, { minBudget: 1, maxBudget: 6 }),
    );
    const run = createAlgorithm(algo, p, { seed: 9, maxEvaluations: 800 });
    let steps = 0;
    while (!run.done()) {
      run.step();
      steps++;
    }
    const r = run.result();
    expect(r.iterations).toBe(steps);
    expect(r.evaluations).toBeGreaterThanOrEqual(800);
    expect(r.evaluations).toBeLessThan(800 + 200);
    expect(solve(p, { algo, seed: 9, maxEvaluations: 800 }).front).toEqual(r.front);
  });

  it('stops on a time budget', () => {
    const p = new LayerSelectionProblem(
      randomSelectionInput(9, 24, 8, { minBudget: 2, maxBudget: 8 }),
    );
    const r = solve(p, { algo, seed: 1, maxTimeMs: 60 });
    expect(r.elapsedMs).toBeGreaterThanOrEqual(60);
    expect(r.elapsedMs).toBeLessThan(60 + 1000); // one step is far below a second even on a busy CI core
    expect(r.evaluations).toBeGreaterThan(0);
  });

  it('every returned front is feasible and mutually non-dominated (fast-check)', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 6 }),
        fc.integer({ min: 2, max: 10 }),
        fc.nat(1000),
        fc.nat(1000),
        (C, L, iseed, seed) => {
          const p = new LayerSelectionProblem(randomSelectionInput(C, L, iseed, { maxBudget: L }));
          checkResult(p, solve(p, { algo, seed, maxEvaluations: 300 }));
        },
      ),
      { numRuns: 12 },
    );
  });
});

describe('options', () => {
  it('rejects bad budgets and unknown algorithms with the field named', () => {
    const p = new LayerSelectionProblem(randomSelectionInput(2, 3, 1));
    expect(() => solve(p, { maxEvaluations: 0 })).toThrow('maxEvaluations');
    expect(() => solve(p, { maxTimeMs: -5 })).toThrow('maxTimeMs');
    expect(() => solve(p, { algo: 'tabu' as never })).toThrow('algo: unknown algorithm "tabu"');
    expect(() => createAlgorithm('nsga2', p, { popSize: 1 })).toThrow('popSize');
  });
});
