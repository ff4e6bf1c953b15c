import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import {
  LayerSelectionProblem,
  randomSelectionInput,
  Rng,
  selectionObjectives,
  SelectionInputError,
  validateSelectionInput,
} from '../src/index.js';

/** Textbook objectives straight from docs/method.md §2 (two-pass variance). */
function reference(scores: number[][], masks: number[][]): [number, number] {
  const L = scores[0].length;
  let imp = 0;
  const n = new Array<number>(L).fill(0);
  masks.forEach((row, i) => row.forEach((m, l) => ((imp += m * scores[i][l]), (n[l] += m))));
  const mean = n.reduce((s, v) => s + v, 0) / L;
  return [imp, n.reduce((s, v) => s + (v - mean) ** 2, 0) / L];
}

const instance = fc
  .record({ C: fc.integer({ min: 1, max: 6 }), L: fc.integer({ min: 1, max: 10 }), seed: fc.nat() })
  .map(({ C, L, seed }) => randomSelectionInput(C, L, seed, { maxBudget: L }));

describe('LayerSelectionProblem', () => {
  it('objectives are [-I, V] of docs/method.md §2', () => {
    const input = {
      scores: [
        [0.5, 0.3, 0.2],
        [0.1, 0.1, 0.8],
      ],
      budgets: [2, 1],
    };
    const p = new LayerSelectionProblem(input);
    // client 0 takes layers 0,1; client 1 takes layer 2: n = [1,1,1], V = 0.
    expect(p.evaluate([1, 1, 0, 0, 0, 1])).toEqual([-(0.5 + 0.3 + 0.8), 0]);
    // both take layer 0: n = [2,0,0], mean 2/3, V = ((4/3)^2 + 2 (2/3)^2) / 3 = 8/9.
    const f = p.evaluate([1, 0, 0, 1, 0, 0]);
    expect(f[0]).toBeCloseTo(-0.6, 15);
    expect(f[1]).toBeCloseTo(8 / 9, 15);
  });

  it('evaluate matches the textbook formula on random masks (fast-check)', () => {
    fc.assert(
      fc.property(instance, fc.nat(), (input, s) => {
        const p = new LayerSelectionProblem(input);
        const x = p.sample(new Rng(s));
        const [imp, v] = reference(input.scores, p.toMasks(x));
        const f = p.evaluate(x);
        expect(-f[0]).toBeCloseTo(imp, 12);
        expect(f[1]).toBeCloseTo(v, 12);
        const o = selectionObjectives(input.scores, p.toMasks(x));
        expect(o.importance).toBeCloseTo(imp, 12);
        expect(o.variance).toBeCloseTo(v, 12);
      }),
      { numRuns: 150 },
    );
  });

  it('variance is identical for permuted layer counts (no ulp noise)', () => {
    const p = new LayerSelectionProblem(randomSelectionInput(3, 7, 5, { budgets: [3, 3, 3] }));
    const a = p.evaluate([1, 1, 1, 0, 0, 0, 0, 0, 0, 1, 1, 1, 0, 0, 1, 0, 0, 0, 0, 0, 1]);
    const b = p.evaluate([0, 0, 1, 1, 1, 0, 0, 1, 1, 0, 0, 0, 0, 1, 0, 0, 1, 0, 0, 0, 1]);
    expect(a[1]).toBe(b[1]);
  });

  it('repair drops the lowest-score selected layers of a client over budget', () => {
    const p = new LayerSelectionProblem({
      scores: [
        [0.1, 0.4, 0.2, 0.3],
        [0.25, 0.25, 0.25, 0.25],
      ],
      budgets: [2, 4],
    });
    expect(p.repair([1, 1, 1, 1, 1, 1, 1, 1])).toEqual([0, 1, 0, 1, 1, 1, 1, 1]);
    expect(p.repair([1, 0, 1, 0, 0, 0, 0, 0])).toEqual([1, 0, 1, 0, 0, 0, 0, 0]);
    // Non-binary values are rounded first.
    expect(p.repair([0.9, 0.2, 0.7, 0.1, 0, 0, 0, 0])).toEqual([1, 0, 1, 0, 0, 0, 0, 0]);
  });

  it('sample, seeds, repair and neighbor always give feasible masks (fast-check)', () => {
    fc.assert(
      fc.property(
        instance,
        fc.nat(),
        fc.array(fc.integer({ min: 0, max: 1 }), { minLength: 60, maxLength: 60 }),
        (input, s, bits) => {
          const p = new LayerSelectionProblem(input);
          const rng = new Rng(s);
          expect(p.isFeasible(p.sample(rng))).toBe(true);
          for (const x of p.seeds(rng)) expect(p.isFeasible(x)).toBe(true);
          const raw = bits
            .slice(0, p.nVar)
            .concat(new Array<number>(Math.max(0, p.nVar - bits.length)).fill(1));
          const y = p.repair(raw);
          expect(p.isFeasible(y)).toBe(true);
          let z = y;
          for (let t = 0; t < 20; t++) {
            z = p.neighbor(z, rng);
            expect(p.isFeasible(z)).toBe(true);
          }
        },
      ),
      { numRuns: 150 },
    );
  });

  it('the first seed is the greedy top-B per client (max importance)', () => {
    const input = randomSelectionInput(4, 9, 3, { budgets: [1, 3, 5, 2] });
    const p = new LayerSelectionProblem(input);
    const greedy = p.seeds(new Rng(1))[0];
    const best = input.scores.reduce(
      (s, row, i) =>
        s +
        row
          .slice()
          .sort((a, b) => b - a)
          .slice(0, input.budgets[i])
          .reduce((u, v) => u + v, 0),
      0,
    );
    expect(-p.evaluate(greedy)[0]).toBeCloseTo(best, 12);
  });

  it('toMasks / fromMasks round-trip', () => {
    const p = new LayerSelectionProblem(randomSelectionInput(3, 4, 1));
    const x = p.sample(new Rng(2));
    expect(p.fromMasks(p.toMasks(x))).toEqual(x);
  });
});

describe('validateSelectionInput', () => {
  const ok = {
    scores: [
      [0.5, 0.5],
      [0.25, 0.75],
    ],
    budgets: [1, 2],
  };
  const cases: [string, unknown, string][] = [
    ['not an object', [1, 2], 'input: expected a JSON object'],
    ['missing scores', { budgets: [1] }, 'scores: missing'],
    ['empty scores', { scores: [], budgets: [] }, 'scores: expected a non-empty array'],
    [
      'row not an array',
      { scores: [[1], 3], budgets: [1, 1] },
      'scores[1]: expected a non-empty array of numbers, got 3',
    ],
    [
      'ragged',
      { scores: [[0.5, 0.5], [1]], budgets: [1, 1] },
      'scores[1]: has 1 entries, expected 2',
    ],
    [
      'non-number',
      { scores: [[0.5, '0.5']], budgets: [1] },
      'scores[0][1]: expected a finite number, got "0.5"',
    ],
    ['negative', { scores: [[1.5, -0.5]], budgets: [1] }, 'scores[0][1]: negative value -0.5'],
    [
      'row sum',
      {
        scores: [
          [0.5, 0.5],
          [0.5, 0.43],
        ],
        budgets: [1, 1],
      },
      'scores[1]: row sums to 0.93, expected 1 within 1e-6',
    ],
    ['missing budgets', { scores: ok.scores }, 'budgets: missing'],
    ['budget count', { scores: ok.scores, budgets: [1] }, 'budgets: has 1 entries, expected 2'],
    [
      'budget 0',
      { scores: ok.scores, budgets: [0, 1] },
      'budgets[0]: expected an integer in 1..2, got 0',
    ],
    [
      'budget > L',
      { scores: ok.scores, budgets: [1, 3] },
      'budgets[1]: expected an integer in 1..2, got 3',
    ],
    [
      'budget fraction',
      { scores: ok.scores, budgets: [1, 1.5] },
      'budgets[1]: expected an integer in 1..2, got 1.5',
    ],
  ];
  for (const [name, input, msg] of cases) {
    it(`rejects ${name} with a message naming the field`, () => {
      expect(() => validateSelectionInput(input)).toThrow(SelectionInputError);
      expect(() => validateSelectionInput(input)).toThrow(msg);
    });
  }

  it('accepts rows within 1e-6 of 1 and rejects just outside', () => {
    expect(validateSelectionInput(ok)).toEqual(ok);
    expect(() =>
      validateSelectionInput({ scores: [[0.5, 0.5 + 5e-7]], budgets: [1] }),
    ).not.toThrow();
    expect(() => validateSelectionInput({ scores: [[0.5, 0.5 + 2e-6]], budgets: [1] })).toThrow(
      'scores[0]: row sums to',
    );
  });
});
