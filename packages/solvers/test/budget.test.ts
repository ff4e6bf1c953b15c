import { describe, expect, it } from 'vitest';
import {
  ALGORITHMS,
  bounds,
  createAlgorithm,
  LayerSelectionProblem,
  normalizedHypervolume,
  randomSelectionInput,
  solve,
  solveSelection,
} from '../src/index.js';
import { bruteForceFront } from './helpers.js';

/**
 * Evaluation budgets with an early stop and a wall-time cap that does not steer the search:
 * the coordinator's setting (apps/coordinator/src/planner.ts), so that a seed gives the same
 * selection on any machine and under any load.
 */
const BUDGET = { maxEvaluations: 20_000, stallEvaluations: 5_000, timeCapMs: 2_000 };

/** A clock that advances `msPerRead` at every read: a machine many times slower. */
function slowClock(msPerRead: number): () => number {
  let t = 0;
  return () => (t += msPerRead);
}

describe.each(ALGORITHMS)('%s with an evaluation budget, early stop and time cap', (algo) => {
  const input = randomSelectionInput(9, 12, 3, { minBudget: 1, maxBudget: 4 });
  const p = new LayerSelectionProblem(input);

  it('same seed -> identical front and selection, twice and under a slowed clock', () => {
    const a = solveSelection(input, { algo, seed: 11, ...BUDGET });
    const b = solveSelection(input, { algo, seed: 11, ...BUDGET });
    expect(b.front).toEqual(a.front);
    expect(b.selected).toBe(a.selected);
    expect(b.evaluations).toBe(a.evaluations);
    expect(a.stoppedBy).not.toBe('cap');

    // Every clock read costs 0.02 ms of "machine time" (tens of times slower than this box):
    // the cap is not reached, so nothing that depends on time may change.
    const slow = solve(p, { algo, seed: 11, ...BUDGET, now: slowClock(0.02) });
    const fast = solve(p, { algo, seed: 11, ...BUDGET });
    expect(slow.stoppedBy).not.toBe('cap');
    expect(slow.elapsedMs).toBeGreaterThan(0);
    expect(slow.front).toEqual(fast.front);
    expect(slow.evaluations).toBe(fast.evaluations);
    expect(p.toMasks(fast.front[0].x)).toEqual(a.front[0].masks);
  });

  it('the cap still bounds a run on a machine too slow for the budget', () => {
    const r = solve(p, {
      algo,
      seed: 11,
      ...BUDGET,
      stallEvaluations: undefined,
      now: slowClock(5),
    });
    expect(r.stoppedBy).toBe('cap');
    expect(r.evaluations).toBeLessThan(BUDGET.maxEvaluations);
    expect(r.front.length).toBeGreaterThan(0);
    for (const s of r.front) expect(p.isFeasible(s.x)).toBe(true);
  });
});

describe('early stop', () => {
  it('ends a small problem once its archive stops improving, well before the budget', () => {
    const input = randomSelectionInput(4, 6, 1, { budgets: [2, 2, 2, 2] });
    const p = new LayerSelectionProblem(input);
    for (const algo of ALGORITHMS) {
      const run = createAlgorithm(algo, p, { seed: 1, ...BUDGET });
      let lastSize = -1;
      let lastGrowth = 0;
      while (!run.done()) {
        run.step();
        // Track the evaluation count at which the archive last changed, independently.
        const key = run
          .result()
          .front.map((s) => s.f.join(','))
          .join(';');
        if (key !== String(lastSize)) {
          lastSize = key as unknown as number;
          lastGrowth = run.evaluations;
        }
      }
      const r = run.result();
      expect(r.stoppedBy, algo).toBe('stall');
      expect(r.evaluations, algo).toBeLessThan(BUDGET.maxEvaluations);
      // It stopped at the first step boundary after 5,000 evaluations without change.
      expect(r.evaluations - lastGrowth, algo).toBeGreaterThanOrEqual(
        BUDGET.stallEvaluations - 200,
      );
    }
  });

  it('the fronts of the coordinator setting match brute force on enumerable instances', () => {
    const cases = [
      { C: 4, L: 6, seed: 103, budgets: [2, 2, 2, 2] },
      { C: 4, L: 6, seed: 1, budgets: [2, 2, 2, 2] },
      { C: 5, L: 5, seed: 104, budgets: [2, 1, 2, 1, 2] },
    ];
    for (const c of cases) {
      const input = randomSelectionInput(c.C, c.L, c.seed, { budgets: c.budgets });
      const exact = bruteForceFront(input.scores, input.budgets).front;
      const { ideal, nadir } = bounds(exact);
      const exactHv = normalizedHypervolume(exact, ideal, nadir);
      for (const algo of ALGORITHMS) {
        const r = solveSelection(input, { algo, seed: 7, ...BUDGET });
        const f = r.front.map((q) => [-q.importance, q.variance]);
        const ratio = normalizedHypervolume(f, ideal, nadir) / exactHv;
        expect(r.stoppedBy, algo).toBe('stall');
        expect(ratio, `${algo} seed ${c.seed}`).toBeGreaterThanOrEqual(0.99);
        expect(ratio).toBeLessThanOrEqual(1 + 1e-9);
        if (algo === 'nsga2') {
          // The coordinator's default algorithm finds the whole exact front here.
          expect(f.length).toBe(exact.length);
          f.forEach((q, k) => {
            expect(q[0]).toBeCloseTo(exact[k][0], 9);
            expect(q[1]).toBeCloseTo(exact[k][1], 9);
          });
        }
      }
    }
  });

  it('rejects a non-positive stall or cap with the field named', () => {
    const p = new LayerSelectionProblem(randomSelectionInput(2, 3, 1));
    expect(() => solve(p, { stallEvaluations: 0 })).toThrow('stallEvaluations');
    expect(() => solve(p, { timeCapMs: -1 })).toThrow('timeCapMs');
  });
});
