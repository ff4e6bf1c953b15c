import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import {
  Archive,
  bounds,
  crowdingDistance,
  dominates,
  fastNonDominatedSort,
  hypervolume2d,
  nonDominatedIndices,
  normalizedHypervolume,
  paretoRanks,
} from '../src/index.js';
import { cellCountHypervolume, columnHypervolume, monteCarloHypervolume } from './helpers.js';

const point = fc.tuple(fc.integer({ min: 0, max: 12 }), fc.integer({ min: 0, max: 12 }));
const points = fc
  .array(point, { minLength: 1, maxLength: 40 })
  .map((ps) => ps.map((p) => [p[0], p[1]]));

/** O(n^2)-per-level brute force: rank r = points not dominated by anything left after removing ranks < r. */
function bruteRanks(objs: number[][]): number[] {
  const rank = new Array<number>(objs.length).fill(-1);
  let r = 0;
  let left = objs.map((_, i) => i);
  while (left.length > 0) {
    const nd = left.filter((i) => !left.some((j) => dominates(objs[j], objs[i])));
    for (const i of nd) rank[i] = r;
    left = left.filter((i) => rank[i] === -1);
    r++;
  }
  return rank;
}

describe('dominance and non-dominated sort', () => {
  it('dominates is strict', () => {
    expect(dominates([1, 2], [1, 3])).toBe(true);
    expect(dominates([1, 2], [1, 2])).toBe(false);
    expect(dominates([0, 3], [1, 2])).toBe(false);
  });

  it('fast non-dominated sort equals the brute-force peeling (fast-check, with ties)', () => {
    fc.assert(
      fc.property(points, (objs) => {
        const ranks = paretoRanks(objs);
        expect(ranks).toEqual(bruteRanks(objs));
        const fronts = fastNonDominatedSort(objs);
        expect(fronts.flat().sort((a, b) => a - b)).toEqual(objs.map((_, i) => i));
      }),
      { numRuns: 300 },
    );
  });

  it('works for 3 objectives too', () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.nat(5), fc.nat(5), fc.nat(5)), { minLength: 1, maxLength: 30 }),
        (ps) => {
          const objs = ps.map((p) => [...p]);
          expect(paretoRanks(objs)).toEqual(bruteRanks(objs));
        },
      ),
      { numRuns: 100 },
    );
  });

  it('nonDominatedIndices keeps one of each non-dominated objective vector', () => {
    fc.assert(
      fc.property(points, (objs) => {
        const nd = nonDominatedIndices(objs);
        const expected = new Set(
          objs.filter((p) => !objs.some((q) => dominates(q, p))).map((p) => p.join(',')),
        );
        expect(new Set(nd.map((i) => objs[i].join(',')))).toEqual(expected);
        expect(nd.length).toBe(expected.size);
      }),
      { numRuns: 200 },
    );
  });
});

describe('crowding distance', () => {
  it('matches a hand computation', () => {
    const objs = [
      [0, 4],
      [1, 2],
      [2, 1],
      [4, 0],
    ];
    const d = crowdingDistance(objs, [0, 1, 2, 3]);
    expect(d[0]).toBe(Infinity);
    expect(d[3]).toBe(Infinity);
    // point 1: (2-0)/4 + (4-1)/4 = 1.25; point 2: (4-1)/4 + (2-0)/4 = 1.25
    expect(d[1]).toBeCloseTo(1.25, 12);
    expect(d[2]).toBeCloseTo(1.25, 12);
  });

  it('gives boundary points Infinity for tiny fronts', () => {
    expect(
      crowdingDistance(
        [
          [1, 1],
          [2, 0],
        ],
        [0, 1],
      ),
    ).toEqual([Infinity, Infinity]);
  });
});

describe('hypervolume', () => {
  it('equals exact cell counting on integer points (fast-check)', () => {
    fc.assert(
      fc.property(points, (objs) => {
        expect(hypervolume2d(objs, [13, 13])).toBe(cellCountHypervolume(objs, [13, 13]));
      }),
      { numRuns: 200 },
    );
  });

  it('agrees with Monte Carlo and column integration on random real fronts', () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.tuple(
            fc.double({ min: 0, max: 1, noNaN: true }),
            fc.double({ min: 0, max: 1, noNaN: true }),
          ),
          {
            minLength: 1,
            maxLength: 25,
          },
        ),
        (ps) => {
          const objs = ps.map((p) => [p[0], p[1]]);
          const hv = hypervolume2d(objs, [1.1, 1.1]);
          expect(Math.abs(hv - columnHypervolume(objs, [1.1, 1.1], 0, 20_000))).toBeLessThan(2e-3);
          expect(
            Math.abs(hv - monteCarloHypervolume(objs, [1.1, 1.1], [0, 0], 20_000)),
          ).toBeLessThan(0.03);
        },
      ),
      { numRuns: 20 },
    );
  });

  it('ignores points outside the reference box and dominated points', () => {
    expect(hypervolume2d([[2, 2]], [1, 1])).toBe(0);
    expect(
      hypervolume2d(
        [
          [0, 0],
          [0.5, 0.5],
        ],
        [1, 1],
      ),
    ).toBe(1);
    expect(hypervolume2d([], [1, 1])).toBe(0);
  });

  it('normalised hypervolume maps the front to [0,1] and uses (1.1, 1.1)', () => {
    const front = [
      [-10, 0],
      [-5, 3],
      [0, 6],
    ];
    const { ideal, nadir } = bounds(front);
    // normalised: (0,0), (0.5,0.5), (1,1): the single point (0,0) dominates everything.
    expect(normalizedHypervolume(front, ideal, nadir)).toBeCloseTo(1.21, 12);
  });
});

describe('archive', () => {
  it('stays mutually non-dominated, rejects equal vectors, respects capacity', () => {
    fc.assert(
      fc.property(points, fc.integer({ min: 2, max: 8 }), (objs, cap) => {
        const a = new Archive(cap);
        for (const f of objs) a.add({ x: [], f });
        expect(a.size).toBeLessThanOrEqual(cap);
        for (const p of a.items) for (const q of a.items) expect(dominates(p.f, q.f)).toBe(false);
        const keys = a.items.map((s) => s.f.join(','));
        expect(new Set(keys).size).toBe(keys.length);
        // Nothing in the archive is dominated by any point ever offered.
        for (const s of a.items) expect(objs.some((f) => dominates(f, s.f))).toBe(false);
        // Without truncation the archive is exactly the distinct non-dominated set.
        if (new Set(nonDominatedIndices(objs).map((i) => objs[i].join(','))).size <= cap) {
          expect(a.size).toBe(nonDominatedIndices(objs).length);
        }
      }),
      { numRuns: 200 },
    );
  });
});
