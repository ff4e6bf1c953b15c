import { describe, expect, it } from 'vitest';
import { ALGORITHMS, solveSelection } from '@focus-fl/solvers';
import {
  createStrategy,
  STRATEGY_NAMES,
  strategyScoreMethod,
  CLIENT_SCORED,
} from '../src/federated/strategies/index.js';
import {
  needsScores,
  selectionStats,
  type RoundClient,
  type RoundContext,
} from '../src/federated/strategy.js';
import { aggregateMasked } from '../src/federated/aggregate.js';
import { SCORER_METHODS, topB } from '../src/importance/methods.js';
import { deriveSeed, mulberry32 } from '../src/random.js';
import type { NamedArrays } from '../src/tensors/named.js';

const layerNames = (L: number) => Array.from({ length: L }, (_, i) => `block${i}.adapter`);

/** Random normalised scores per client (a Dirichlet-like draw). */
function scoredClients(n: number, L: number, seed: number, budgets?: number[]): RoundClient[] {
  const r = mulberry32(seed);
  const layers = layerNames(L);
  return Array.from({ length: n }, (_, i) => {
    const raw = layers.map(() => -Math.log(1 - r()));
    const sum = raw.reduce((a, b) => a + b, 0);
    return {
      name: `c${i}`,
      budget: budgets ? budgets[i] : 1 + (i % 4),
      numSamples: 10 + i,
      scores: { layers, scores: raw.map((v) => v / sum) },
    };
  });
}

const FAST = { maxEvaluations: 3000 };

function ctxOf(clients: RoundClient[], L: number, round = 1, seed = 7): RoundContext {
  return { round, clients, layers: layerNames(L), seed };
}

describe('strategy registry', () => {
  it('creates every named strategy and lists valid names on error', async () => {
    for (const name of STRATEGY_NAMES) expect(createStrategy(name, FAST).name).toBe(name);
    expect(() => createStrategy('fedavg')).toThrow(
      /unknown strategy "fedavg"; valid strategies: f3ocus, full, random, last, magnitude/,
    );
  });

  it('derives its names: every scorer method is a strategy; `fd` is an alias of random', async () => {
    for (const m of SCORER_METHODS) expect(STRATEGY_NAMES).toContain(m);
    expect(STRATEGY_NAMES).not.toContain('fd');
    expect(createStrategy('fd').name).toBe('random');
  });

  it('says which scores each strategy needs', async () => {
    expect(strategyScoreMethod('f3ocus')).toBe('lntk');
    expect(strategyScoreMethod('lntk')).toBe('lntk');
    expect(strategyScoreMethod('snip')).toBe('snip');
    for (const n of ['full', 'random', 'fd', 'last']) {
      expect(strategyScoreMethod(n)).toBe('none');
      expect(needsScores(createStrategy(n))).toBe(false);
    }
    for (const n of CLIENT_SCORED) expect(needsScores(createStrategy(n))).toBe(true);
  });

  it('validates f3ocus options', async () => {
    expect(() => createStrategy('f3ocus', { algo: 'ga' as never })).toThrow(
      /unknown algo "ga"; valid: nsga2, mopso, abc, aco, sa/,
    );
    expect(() => createStrategy('f3ocus', { pick: 'best' as never })).toThrow(/unknown pick rule/);
    expect(() => createStrategy('f3ocus', { maxTimeMs: -1 })).toThrow(
      /maxTimeMs must be a positive number/,
    );
  });
});

describe('every strategy', () => {
  const L = 8;
  const clients = scoredClients(5, L, 3, [1, 2, 3, 8, 12]);
  for (const name of STRATEGY_NAMES) {
    it(`${name}: respects budgets, keeps layer order, is deterministic`, async () => {
      const s = createStrategy(name, FAST);
      const plan = await s.configureRound(ctxOf(clients, L));
      expect(Object.keys(plan.assignments).sort()).toEqual(clients.map((c) => c.name).sort());
      for (const c of clients) {
        const a = plan.assignments[c.name];
        const idx = a.map((l) => layerNames(L).indexOf(l));
        expect(idx.every((i) => i >= 0)).toBe(true);
        expect(idx).toEqual([...idx].sort((x, y) => x - y)); // layer order
        expect(new Set(a).size).toBe(a.length);
        if (name === 'full') expect(a.length).toBe(L);
        else {
          expect(a.length).toBeLessThanOrEqual(Math.min(c.budget, L));
          // Every strategy but f3ocus uses the whole budget (f3ocus may trade a layer for balance).
          if (name !== 'f3ocus') expect(a.length).toBe(Math.min(c.budget, L));
        }
      }
      const again = await createStrategy(name, FAST).configureRound(ctxOf(clients, L));
      expect(again.assignments).toEqual(plan.assignments);
    });
  }
});

describe('client-only strategies', () => {
  it('lntk takes each client top-B of its own scores, matching layers by name', async () => {
    const layers = layerNames(5);
    const c: RoundClient = {
      name: 'a',
      budget: 2,
      numSamples: 3,
      // Sent in a shuffled layer order: block3 and block0 are the top two.
      scores: {
        layers: [
          'block4.adapter',
          'block3.adapter',
          'block2.adapter',
          'block1.adapter',
          'block0.adapter',
        ],
        scores: [0.1, 0.35, 0.05, 0.2, 0.3],
      },
    };
    const plan = await createStrategy('lntk').configureRound({
      round: 0,
      clients: [c],
      layers,
      seed: 1,
    });
    expect(plan.assignments.a).toEqual(['block0.adapter', 'block3.adapter']);
    expect(plan.info.importance).toBeCloseTo(0.65, 12);
  });

  it('baseline scorers use their own (possibly negative) scores', async () => {
    const layers = layerNames(4);
    const c: RoundClient = {
      name: 'a',
      budget: 1,
      numSamples: 3,
      scores: { layers, scores: [-5, -1, -3, -2] },
    };
    const plan = await createStrategy('grasp').configureRound({
      round: 0,
      clients: [c],
      layers,
      seed: 1,
    });
    expect(plan.assignments.a).toEqual(['block1.adapter']);
  });

  it('refuses missing, incomplete, unknown or non-finite scores', async () => {
    const layers = layerNames(3);
    const base = { name: 'x', budget: 1, numSamples: 1 };
    const run = (scores?: { layers: string[]; scores: number[] }) =>
      createStrategy('snip').configureRound({
        round: 0,
        layers,
        seed: 0,
        clients: [{ ...base, scores }],
      });
    await expect(run()).rejects.toThrow(/client "x": no snip scores/);
    await expect(run({ layers: layers.slice(0, 2), scores: [1, 2] })).rejects.toThrow(
      /client "x": no score for layer "block2.adapter"/,
    );
    await expect(
      run({ layers: [...layers, 'blockX.adapter'], scores: [1, 2, 3, 4] }),
    ).rejects.toThrow(/unknown layer "blockX.adapter"/);
    await expect(run({ layers, scores: [1, NaN, 3] })).rejects.toThrow(
      /"block1.adapter" is not finite/,
    );
    await expect(run({ layers, scores: [1, 2] })).rejects.toThrow(/equal length/);
  });
});

describe('server-side strategies', () => {
  it('last takes the last B layers', async () => {
    const layers = layerNames(6);
    const plan = await createStrategy('last').configureRound({
      round: 3,
      seed: 0,
      layers,
      clients: [
        { name: 'a', budget: 2, numSamples: 1 },
        { name: 'b', budget: 0, numSamples: 1 },
      ],
    });
    expect(plan.assignments).toEqual({ a: ['block4.adapter', 'block5.adapter'], b: [] });
  });

  it('random varies by round and client, replays for a seed, and is roughly uniform', async () => {
    const L = 10;
    const clients = Array.from({ length: 4 }, (_, i) => ({
      name: `c${i}`,
      budget: 3,
      numSamples: 1,
    }));
    const s = createStrategy('random');
    const counts = new Array(L).fill(0);
    const seen = new Set<string>();
    const R = 500;
    for (let round = 0; round < R; round++) {
      const plan = await s.configureRound(ctxOf(clients, L, round, 11));
      for (const a of Object.values(plan.assignments)) {
        seen.add(a.join(','));
        for (const l of a) counts[layerNames(L).indexOf(l)]++;
      }
    }
    expect(seen.size).toBeGreaterThan(100); // C(10,3) = 120 possible sets
    // Each layer expected R*4*3/10 = 600 times; chi-square with 9 dof, p ~ 1e-4 at 33.7.
    const expected = (R * 4 * 3) / L;
    const chi2 = counts.reduce((a, c) => a + (c - expected) ** 2 / expected, 0);
    expect(chi2).toBeLessThan(33.7);
    const a = (await s.configureRound(ctxOf(clients, L, 1, 11))).assignments;
    const b = (await s.configureRound(ctxOf(clients, L, 1, 12))).assignments;
    expect(a).not.toEqual(b);
  });

  it('helpers: topB ties go to the earlier layer; deriveSeed separates its parts', async () => {
    expect(topB([0.2, 0.5, 0.2, 0.1], 2)).toEqual([0, 1]);
    expect(topB([1, 2], 5)).toEqual([0, 1]);
    expect(deriveSeed(1, 2, 'a')).not.toBe(deriveSeed(1, 2, 'b'));
    expect(deriveSeed(1, 2, 'a')).not.toBe(deriveSeed(1, 3, 'a'));
    expect(deriveSeed(1, 2, 'a')).toBe(deriveSeed(1, 2, 'a'));
  });

  it('validates the context', async () => {
    const s = createStrategy('full');
    await expect(s.configureRound({ round: 0, seed: 0, layers: [], clients: [] })).rejects.toThrow(
      /ctx.layers must be a non-empty/,
    );
    const c = { name: 'a', budget: 1.5, numSamples: 1 };
    await expect(
      s.configureRound({ round: 0, seed: 0, layers: ['x'], clients: [c] }),
    ).rejects.toThrow(/client "a": budget must be a non-negative integer/);
    const d = { name: 'a', budget: 1, numSamples: 1 };
    await expect(
      s.configureRound({ round: 0, seed: 0, layers: ['x'], clients: [d, d] }),
    ).rejects.toThrow(/appears twice/);
  });
});

/**
 * The paper's example shape (docs/method.md §2): 5 clients, budget 4; client-only picks pile up on
 * the same four layers (0, 1, 17, 22: max count 5), the server spreads them.
 */
function paperExample(seed: number): RoundClient[] {
  const L = 24;
  const layers = layerNames(L);
  const r = mulberry32(seed);
  return Array.from({ length: 5 }, (_, i) => {
    const raw = layers.map(
      (_, l) => ([0, 1, 17, 22].includes(l) ? 0.12 : 0.02) * (0.6 + 0.8 * r()),
    );
    const sum = raw.reduce((a, b) => a + b, 0);
    return {
      name: `client${i}`,
      budget: 4,
      numSamples: 100,
      scores: { layers, scores: raw.map((v) => v / sum) },
    };
  });
}

describe('f3ocus', () => {
  const L = 24;
  const clients = paperExample(5);

  it('spreads the selections that client-only LNTK piles up (paper example shape)', async () => {
    const lntk = await createStrategy('lntk').configureRound(ctxOf(clients, L));
    const lntkStats = selectionStats(lntk.assignments, layerNames(L));
    expect(Math.max(...lntkStats.counts)).toBe(5);
    expect(lntk.assignments.client0).toEqual([
      'block0.adapter',
      'block1.adapter',
      'block17.adapter',
      'block22.adapter',
    ]);

    const f = await createStrategy('f3ocus', { maxEvaluations: 6000 }).configureRound(
      ctxOf(clients, L),
    );
    const fStats = selectionStats(f.assignments, layerNames(L));
    expect(Math.max(...fStats.counts)).toBeLessThanOrEqual(4);
    expect(fStats.variance).toBeLessThan(lntkStats.variance);
    // The front and the picked point are reported; the pick is on the front.
    expect(f.front!.length).toBeGreaterThan(1);
    expect(f.selected).toBeGreaterThanOrEqual(0);
    const picked = f.front![f.selected!];
    expect(picked.variance).toBeCloseTo(fStats.variance, 9);
    // importance of the assignment recomputed independently from the scores
    let imp = 0;
    for (const c of clients) {
      for (const l of f.assignments[c.name]) imp += c.scores!.scores[c.scores!.layers.indexOf(l)];
    }
    expect(picked.importance).toBeCloseTo(imp, 9);
    expect(f.info.clientOnly).toEqual({
      importance: expect.closeTo(lntk.info.importance as number, 9),
      variance: expect.closeTo(lntkStats.variance, 9),
    });
    // It still keeps most of the importance (not a random spread).
    expect(imp).toBeGreaterThan(0.5 * (lntk.info.importance as number));
  });

  it('is deterministic for a seed and runs with every algorithm', async () => {
    for (const algo of ALGORITHMS) {
      const s = createStrategy('f3ocus', { algo, maxEvaluations: 1500 });
      const a = await s.configureRound(ctxOf(clients, L, 2, 9));
      const b = await createStrategy('f3ocus', { algo, maxEvaluations: 1500 }).configureRound(
        ctxOf(clients, L, 2, 9),
      );
      expect(a.assignments, algo).toEqual(b.assignments);
      expect(a.info.algo).toBe(algo);
      for (const c of clients) expect(a.assignments[c.name].length).toBeLessThanOrEqual(4);
    }
  });

  it('uses an injected (async) solver with the same input and seed', async () => {
    const cs = scoredClients(3, 5, 4, [2, 0, 9]);
    const calls: { scores: number[][]; budgets: number[]; seed: number; algo: string }[] = [];
    const s = createStrategy('f3ocus', {
      ...FAST,
      algo: 'sa',
      solver: async (input, o) => {
        calls.push({ ...input, seed: o.seed, algo: o.algo });
        await new Promise((r) => setTimeout(r, 1));
        return solveSelection(input, o);
      },
    });
    const injected = await s.configureRound(ctxOf(cs, 5, 3, 2));
    const plain = await createStrategy('f3ocus', { ...FAST, algo: 'sa' }).configureRound(
      ctxOf(cs, 5, 3, 2),
    );
    expect(injected.assignments).toEqual(plain.assignments);
    expect(calls).toHaveLength(1);
    expect(calls[0].budgets).toEqual([2, 5]); // budget-0 client left out, 9 clipped to L = 5
    expect(calls[0].scores[1]).toEqual(
      cs[2].scores!.scores.map((v, _, a) => v / a.reduce((x, y) => x + y, 0)),
    );
    expect(calls[0].algo).toBe('sa');
    expect(calls[0].seed).toBe(deriveSeed(2, 3, 'f3ocus'));
  });

  it('handles budget 0 and budgets above L; refuses negative or zero LNTK rows', async () => {
    const cs = scoredClients(3, 5, 1, [0, 9, 2]);
    const plan = await createStrategy('f3ocus', FAST).configureRound(ctxOf(cs, 5));
    expect(plan.assignments.c0).toEqual([]);
    expect(plan.assignments.c1.length).toBeLessThanOrEqual(5);
    const bad = scoredClients(2, 5, 1, [1, 1]);
    bad[1].scores!.scores[2] = -0.1;
    await expect(createStrategy('f3ocus', FAST).configureRound(ctxOf(bad, 5))).rejects.toThrow(
      /client "c1": LNTK score of layer block2.adapter is -0.1; must be >= 0/,
    );
    bad[1].scores!.scores = [0, 0, 0, 0, 0];
    await expect(createStrategy('f3ocus', FAST).configureRound(ctxOf(bad, 5))).rejects.toThrow(
      /client "c1": LNTK scores are all zero/,
    );
  });
});

describe('aggregateRound', () => {
  const t = (shape: number[], values: number[]) => ({ shape, data: Float32Array.from(values) });
  const global: NamedArrays = {
    'block0.adapter/w': t([2], [0, 0]),
    'block1.adapter/w': t([2], [1, 1]),
    'head/kernel': t([1], [0]),
  };
  const results = [
    {
      client: 'a',
      numSamples: 1,
      deltas: { 'block0.adapter/w': t([2], [2, 2]), 'head/kernel': t([1], [1]) },
    },
    {
      client: 'b',
      numSamples: 3,
      deltas: { 'block0.adapter/w': t([2], [6, 2]), 'head/kernel': t([1], [5]) },
    },
  ];

  it('is the masked weighted FedAvg; failures contribute nothing', async () => {
    const s = createStrategy('lntk');
    const out = s.aggregateRound({ round: 1, global }, results, [
      { client: 'c', reason: 'timeout' },
    ]);
    expect(Array.from(out.params['block0.adapter/w'].data)).toEqual([5, 2]);
    expect(Array.from(out.params['block1.adapter/w'].data)).toEqual([1, 1]);
    expect(Array.from(out.params['head/kernel'].data)).toEqual([4]);
    expect(out.contributors).toEqual({ 'block0.adapter': 2, 'block1.adapter': 0, head: 2 });
    expect(out.params).toEqual(aggregateMasked(global, results));
  });

  it('with assignments, refuses updates of unassigned layers and unknown clients', async () => {
    const s = createStrategy('random');
    const ok = { a: ['block0.adapter'], b: ['block0.adapter'] };
    expect(() =>
      s.aggregateRound({ round: 1, global, assignments: ok }, results, []),
    ).not.toThrow();
    expect(() =>
      s.aggregateRound(
        { round: 1, global, assignments: { a: ['block0.adapter'], b: ['block1.adapter'] } },
        results,
        [],
      ),
    ).toThrow(/b: update trains unassigned layer\(s\) block0.adapter/);
    expect(() =>
      s.aggregateRound({ round: 1, global, assignments: { a: [] } }, results, []),
    ).toThrow(/a: update trains unassigned/);
    expect(() =>
      s.aggregateRound({ round: 1, global, assignments: { a: ['block0.adapter'] } }, results, []),
    ).toThrow(/client "b" sent an update but had no assignment/);
    expect(() =>
      s.aggregateRound({ round: 1, global }, results, [{ client: 'a', reason: 'x' }]),
    ).toThrow(/both as a result and as a failure/);
  });

  it('with no results keeps the global model', async () => {
    const out = createStrategy('full').aggregateRound(
      { round: 1, global },
      [],
      [{ client: 'a', reason: 'x' }],
    );
    expect(out.params).toEqual(global);
  });
});
