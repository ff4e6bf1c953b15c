// FedRA's allocation and Sun et al.'s regulated selection, checked against brute force.
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import {
  createStrategy,
  randomAllocation,
  regularizedObjective,
  regularizedSelection,
} from '../src/federated/strategies/index.js';
import { topB } from '../src/importance/methods.js';
import type { RoundContext } from '../src/federated/strategy.js';
import { mulberry32 } from '../src/random.js';

const layers = (L: number) => Array.from({ length: L }, (_, i) => `block${i}.adapter`);

/** Every k-subset of 0..n-1, sorted. */
function subsets(n: number, k: number): number[][] {
  if (k === 0) return [[]];
  if (n < k) return [];
  const without = subsets(n - 1, k);
  const withLast = subsets(n - 1, k - 1).map((s) => [...s, n - 1]);
  return [...without, ...withLast];
}

describe('FedRA random allocation', () => {
  it('rows hold exactly L_i,max distinct layers and cover every layer when budgets allow', () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 0, max: 8 }), { minLength: 1, maxLength: 8 }),
        fc.integer({ min: 1, max: 8 }),
        fc.integer(),
        (budgets, L, seed) => {
          const rows = randomAllocation(budgets, L, seed);
          rows.forEach((r, i) => {
            expect(r.length).toBe(Math.min(budgets[i], L));
            expect(new Set(r).size).toBe(r.length);
            expect(r).toEqual([...r].sort((a, b) => a - b));
            expect(r.every((l) => l >= 0 && l < L)).toBe(true);
          });
          const covered = new Set(rows.flat()).size;
          const total = budgets.reduce((a, b) => a + Math.min(b, L), 0);
          expect(covered).toBe(Math.min(L, total));
          expect(randomAllocation(budgets, L, seed)).toEqual(rows); // seeded
        },
      ),
      { seed: 11, numRuns: 200 },
    );
  });

  it('the strategy draws a new matrix each round, independent of client arrival order', async () => {
    const clients = ['a', 'b', 'c'].map((name) => ({ name, budget: 2, numSamples: 10 }));
    const ctx = (round: number, cs = clients): RoundContext => ({
      round,
      clients: cs,
      layers: layers(6),
      seed: 4,
    });
    const s = createStrategy('fedra');
    const r1 = await s.configureRound(ctx(1));
    const r1rev = await s.configureRound(ctx(1, [...clients].reverse()));
    expect(r1rev.assignments).toEqual(r1.assignments);
    expect(new Set(Object.values(r1.assignments).flat()).size).toBe(6); // 3 x 2 covers 6
    const rounds = await Promise.all([2, 3, 4, 5].map((r) => s.configureRound(ctx(r))));
    expect(
      rounds.some((p) => JSON.stringify(p.assignments) !== JSON.stringify(r1.assignments)),
    ).toBe(true);
  });
});

describe('Sun et al. regulated selection', () => {
  const draw = (N: number, L: number, seed: number) => {
    const r = mulberry32(seed);
    return Array.from({ length: N }, () => Array.from({ length: L }, () => r()));
  };

  it('the regulariser equals the pairwise disagreement sum (brute force)', () => {
    const s = draw(4, 5, 1);
    const sel = [
      [0, 1],
      [1, 2],
      [0, 4],
      [1, 3],
    ];
    let pairs = 0;
    for (let l = 0; l < 5; l++)
      for (let a = 0; a < 4; a++)
        for (let b = a + 1; b < 4; b++)
          pairs += (Number(sel[a].includes(l)) - Number(sel[b].includes(l))) ** 2;
    const plain = sel.reduce((acc, idx, i) => acc + idx.reduce((x, l) => x + s[i][l], 0), 0);
    expect(regularizedObjective(s, sel, 0.3)).toBeCloseTo(plain - 0.3 * pairs, 12);
  });

  it('lambda 0 is each client’s top-B', () => {
    const s = draw(5, 6, 2);
    const budgets = [1, 2, 3, 2, 1];
    expect(regularizedSelection(s, budgets, 0)).toEqual(s.map((x, i) => topB(x, budgets[i])));
  });

  it('ends where no single client can improve the objective (exhaustive check)', () => {
    for (let seed = 0; seed < 30; seed++) {
      const N = 4;
      const L = 5;
      const s = draw(N, L, 100 + seed);
      const budgets = [1, 2, 2, 3];
      const lambda = [0.05, 0.2, 1][seed % 3];
      const sel = regularizedSelection(s, budgets, lambda);
      const value = regularizedObjective(s, sel, lambda);
      const start = regularizedObjective(
        s,
        s.map((x, i) => topB(x, budgets[i])),
        lambda,
      );
      expect(value).toBeGreaterThanOrEqual(start - 1e-12);
      for (let i = 0; i < N; i++) {
        expect(sel[i].length).toBe(budgets[i]);
        for (const alt of subsets(L, budgets[i])) {
          const other = sel.map((x, k) => (k === i ? alt : x));
          expect(regularizedObjective(s, other, lambda)).toBeLessThanOrEqual(value + 1e-9);
        }
      }
    }
  });

  it('a large lambda makes equal-budget clients agree on the same layers', () => {
    const s = draw(4, 6, 7);
    const sel = regularizedSelection(s, [2, 2, 2, 2], 10);
    for (const x of sel) expect(x).toEqual(sel[0]);
  });

  it('the strategy asks for spt scores and scales them per client', async () => {
    const s = createStrategy('sun');
    expect(s.scoreMethod).toBe('spt');
    const L = layers(4);
    // client b's scores are a's times 1000: scaling makes them choose alike at lambda 0.5/(N-1)
    const plan = await s.configureRound({
      round: 1,
      seed: 0,
      layers: L,
      clients: [
        { name: 'a', budget: 2, numSamples: 5, scores: { layers: L, scores: [4, 3, 2, 1] } },
        {
          name: 'b',
          budget: 2,
          numSamples: 5,
          scores: { layers: L, scores: [4e3, 3e3, 2e3, 1e3] },
        },
      ],
    });
    expect(plan.assignments).toEqual({ a: L.slice(0, 2), b: L.slice(0, 2) });
    expect(plan.info.lambda).toBe(0.5);
  });
});
