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

  it('truncation can lose a globally non-dominated point (the counterexample of a wrong property)', () => {
    // Capacity 3: (3,0) overfills the archive and the most crowded member, (2,1), is dropped;
    // then (0,2) evicts (1,2) and (0,3). The archive ends with 2 points although the distinct
    // non-dominated set of everything offered, {(2,1), (3,0), (0,2)}, would fit. So "fits in
    // capacity at the end => archive is the whole non-dominated set" is not a property.
    const a = new Archive(3);
    const offered = [
      [2, 1],
      [1, 2],
      [0, 3],
      [3, 0],
      [0, 2],
    ];
    for (const f of offered) a.add({ x: [], f });
    expect(a.items.map((s) => s.f)).toEqual([
      [3, 0],
      [0, 2],
    ]);
    expect(distinctNonDominated(offered)).toBe(3);
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

/** How many distinct objective vectors are non-dominated among `objs`. */
function distinctNonDominated(objs: number[][]): number {
  return new Set(nonDominatedIndices(objs).map((i) => objs[i].join(','))).size;
}

describe('archive', () => {
  it('stays mutually non-dominated, rejects equal vectors, respects capacity', () => {
    fc.assert(
      fc.property(points, fc.integer({ min: 2, max: 8 }), (objs, cap) => {
        const a = new Archive(cap);
        // x records the offer index, so each member knows when it arrived.
        let truncated = false;
        objs.forEach((f, i) => {
          a.add({ x: [i], f });
          // Without truncation so far, the archive holds the distinct non-dominated set of the
          // points offered so far; truncation is what happens when that set outgrows `cap`.
          const prefix = objs.slice(0, i + 1);
          if (distinctNonDominated(prefix) > cap) truncated = true;
        });
        expect(a.size).toBeLessThanOrEqual(cap);
        for (const p of a.items) for (const q of a.items) expect(dominates(p.f, q.f)).toBe(false);
        const keys = a.items.map((s) => s.f.join(','));
        expect(new Set(keys).size).toBe(keys.length);
        // No point offered after a member arrived dominates it (it would have evicted it).
        // Points offered before may: truncation can drop a point that would have rejected it.
        for (const s of a.items) {
          expect(objs.slice(s.x[0] + 1).some((f) => dominates(f, s.f))).toBe(false);
        }
        // Never truncated: the archive is exactly the distinct non-dominated set, and nothing
        // ever offered dominates a member.
        if (!truncated) {
          expect(a.size).toBe(distinctNonDominated(objs));
          for (const s of a.items) expect(objs.some((f) => dominates(f, s.f))).toBe(false);
        }
      }),
      { numRuns: 200 },
    );
  });

  it('a point dropped by truncation leaves room for one it dominated (issue counterexample)', () => {
    // Capacity 3: (2,1) is dropped as the most crowded when (0,3), (3,0) arrive, so (0,2),
    // which (2,1) does not dominate, joins; the final archive is 3 mutually non-dominated
    // points although only (0,2)... every point here is kept or replaced by a better one.
    const a = new Archive(3);
    for (const f of [
      [2, 1],
      [1, 2],
      [0, 3],
      [3, 0],
      [0, 2],
    ])
      a.add({ x: [], f });
    const kept = a.items.map((s) => s.f.join(',')).sort();
    expect(kept.length).toBeLessThanOrEqual(3);
    for (const p of a.items) for (const q of a.items) expect(dominates(p.f, q.f)).toBe(false);
    expect(kept).toContain('0,2');
  });
});
