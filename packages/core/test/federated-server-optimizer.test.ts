import { describe, expect, it } from 'vitest';
import { aggregateMaskedDetailed, type ClientUpdate } from '../src/federated/aggregate.js';
import {
  SERVER_OPTIMIZERS,
  createServerOptimizer,
  resolveServerOptimizer,
} from '../src/federated/server-optimizer.js';
import type { NamedArrays } from '../src/tensors/named.js';
import { mulberry32 } from '../src/random.js';

const t = (shape: number[], values: number[]) => ({ shape, data: Float32Array.from(values) });
const vals = (p: NamedArrays, name: string) => Array.from(p[name].data);

/** Two adapter layers and a head; block1 is never trained in these rounds. */
function global(): NamedArrays {
  return {
    'block0.adapter/w': t([2], [1, 2]),
    'block1.adapter/w': t([1], [7]),
    'head/kernel': t([1], [0.5]),
  };
}

// Site A (n = 1) trains block0 + head, site B (n = 3) only the head. Masked, sample-weighted
// mean delta: block0 = A's delta = [0.2, -0.4]; head = (1 * 0.1 + 3 * 0.5) / 4 = 0.4; block1
// untouched.
const updates: ClientUpdate[] = [
  {
    client: 'A',
    numSamples: 1,
    deltas: { 'block0.adapter/w': t([2], [0.2, -0.4]), 'head/kernel': t([1], [0.1]) },
  },
  { client: 'B', numSamples: 3, deltas: { 'head/kernel': t([1], [0.5]) } },
];

function roundOf(g: NamedArrays, ups: ClientUpdate[] = updates) {
  return aggregateMaskedDetailed(g, ups);
}

describe('server optimisers (hand-computed, two sites, two layers)', () => {
  it('fedavg with lr 1 is the masked aggregation itself; lr 2 doubles the step', () => {
    const g = global();
    const agg = roundOf(g);
    const x1 = createServerOptimizer({ name: 'fedavg' }).step(g, agg);
    for (const n of Object.keys(g)) expect(vals(x1, n)).toEqual(vals(agg.params, n));
    const x2 = createServerOptimizer({ name: 'fedavg', lr: 2 }).step(g, agg);
    expect(vals(x2, 'block0.adapter/w')[0]).toBeCloseTo(1.4, 6);
    expect(vals(x2, 'block0.adapter/w')[1]).toBeCloseTo(1.2, 6);
    expect(vals(x2, 'head/kernel')[0]).toBeCloseTo(1.3, 6);
    expect(vals(x2, 'block1.adapter/w')).toEqual([7]);
  });

  it('fedavgm: v = 0.9 v + Δ, x += v (two rounds with the same deltas)', () => {
    const opt = createServerOptimizer({ name: 'fedavgm', lr: 1, beta1: 0.9 });
    const g0 = global();
    const g1 = opt.step(g0, roundOf(g0));
    expect(vals(g1, 'block0.adapter/w')[0]).toBeCloseTo(1.2, 6);
    expect(vals(g1, 'head/kernel')[0]).toBeCloseTo(0.9, 6);
    const g2 = opt.step(g1, roundOf(g1));
    // v2 = 0.9 * 0.2 + 0.2 = 0.38 -> 1.58; -0.4 -> -0.76 -> 1.6 - 0.76 = 0.84; head 0.9 + 0.76.
    expect(vals(g2, 'block0.adapter/w')[0]).toBeCloseTo(1.58, 6);
    expect(vals(g2, 'block0.adapter/w')[1]).toBeCloseTo(0.84, 6);
    expect(vals(g2, 'head/kernel')[0]).toBeCloseTo(1.66, 6);
    expect(vals(g2, 'block1.adapter/w')).toEqual([7]);
  });

  it('fedadam / fedyogi / fedadagrad first step (lr 0.1, τ 1e-3, v0 = τ²)', () => {
    // m = 0.1 Δ; adam v = 0.99 τ² + 0.01 Δ²; yogi v = τ² + 0.01 Δ² (v0 < Δ²); adagrad v = τ² + Δ²;
    // step = 0.1 m / (√v + τ)  (values from an independent float64 computation).
    const expected = {
      fedadam: { 0.2: 0.09512605167558885, [-0.4]: -0.09753154228797478, 0.4: 0.09753154228797478 },
      fedyogi: { 0.2: 0.09512492197250395, [-0.4]: -0.0975312451187128, 0.4: 0.0975312451187128 },
      fedadagrad: {
        0.2: 0.009950124999218761,
        [-0.4]: -0.009975031249951173,
        0.4: 0.009975031249951173,
      },
    } as const;
    for (const name of ['fedadam', 'fedyogi', 'fedadagrad'] as const) {
      const opt = createServerOptimizer({ name, lr: 0.1, beta1: 0.9, beta2: 0.99, tau: 1e-3 });
      const g = global();
      const x = opt.step(g, roundOf(g));
      const e = expected[name];
      expect(vals(x, 'block0.adapter/w')[0]).toBeCloseTo(1 + e[0.2], 6);
      expect(vals(x, 'block0.adapter/w')[1]).toBeCloseTo(2 + e[-0.4], 6);
      expect(vals(x, 'head/kernel')[0]).toBeCloseTo(0.5 + e[0.4], 6);
      expect(vals(x, 'block1.adapter/w')).toEqual([7]);
    }
  });

  it('fedyogi second moment moves towards Δ² additively: v2 = v1 - 0.01 Δ² sign(v1 - Δ²)', () => {
    const opt = createServerOptimizer({ name: 'fedyogi', lr: 0.1, tau: 1e-3 });
    const g0 = global();
    const g1 = opt.step(g0, roundOf(g0));
    opt.step(g1, roundOf(g1));
    const v = opt.state().v['head/kernel'].data[0];
    const d2 = 0.16;
    const v1 = 1e-6 + 0.01 * d2;
    expect(v).toBeCloseTo(v1 + 0.01 * d2, 8);
  });

  it('a layer nobody trained keeps its value and its optimiser state', () => {
    const opt = createServerOptimizer({ name: 'fedavgm', lr: 1, beta1: 0.5 });
    const g0 = global();
    const g1 = opt.step(g0, roundOf(g0)); // block0 v = [0.2, -0.4]
    // Round 2: only the head is trained; block0's momentum must not be applied or decayed.
    const headOnly: ClientUpdate[] = [
      { client: 'B', numSamples: 3, deltas: { 'head/kernel': t([1], [0.5]) } },
    ];
    const g2 = opt.step(g1, roundOf(g1, headOnly));
    expect(vals(g2, 'block0.adapter/w')).toEqual(vals(g1, 'block0.adapter/w'));
    expect(vals(g2, 'block1.adapter/w')).toEqual([7]);
    // Round 3: block0 trained again: v = 0.5 * 0.2 + 0.2 = 0.3 (one decay, not two).
    const g3 = opt.step(g2, roundOf(g2));
    expect(vals(g3, 'block0.adapter/w')[0]).toBeCloseTo(vals(g2, 'block0.adapter/w')[0] + 0.3, 6);
    expect(opt.state().steps).toEqual({ 'block0.adapter': 2, head: 3 });
    expect(opt.state().m['block1.adapter/w']).toBeUndefined();
  });

  it('state round-trips: a restored optimiser continues exactly', () => {
    for (const name of SERVER_OPTIMIZERS) {
      const a = createServerOptimizer({ name, lr: 0.5 });
      const g0 = global();
      const g1 = a.step(g0, roundOf(g0));
      const b = createServerOptimizer({ name, lr: 0.5 });
      b.load(a.state());
      const ga = a.step(g1, roundOf(g1));
      const gb = b.step(g1, roundOf(g1));
      for (const n of Object.keys(g0)) expect(vals(gb, n)).toEqual(vals(ga, n));
    }
  });

  it('is deterministic and leaves its inputs untouched (random inputs, seed printed)', () => {
    const seed = 20261201;
    const rand = mulberry32(seed);
    const rnd = (k: number) => Array.from({ length: k }, () => rand() - 0.5);
    const g: NamedArrays = { 'block0.adapter/w': t([8], rnd(8)), 'head/kernel': t([4], rnd(4)) };
    const ups: ClientUpdate[] = [1, 2, 3].map((i) => ({
      client: `c${i}`,
      numSamples: i * 10,
      deltas: { 'block0.adapter/w': t([8], rnd(8)), 'head/kernel': t([4], rnd(4)) },
    }));
    const copy = JSON.stringify(Object.entries(g).map(([k, v]) => [k, Array.from(v.data)]));
    for (const name of SERVER_OPTIMIZERS) {
      const run = () => {
        const o = createServerOptimizer({ name });
        let x = g;
        for (let r = 0; r < 3; r++) x = o.step(x, aggregateMaskedDetailed(x, ups));
        return x;
      };
      const a = run();
      const b = run();
      for (const n of Object.keys(g))
        expect(vals(a, n), `seed ${seed} ${name}`).toEqual(vals(b, n));
    }
    expect(JSON.stringify(Object.entries(g).map(([k, v]) => [k, Array.from(v.data)]))).toBe(copy);
  });

  it('rejects bad configuration naming the field', () => {
    expect(() => resolveServerOptimizer({ name: 'sgd' as never })).toThrow(/unknown name "sgd"/);
    expect(() => resolveServerOptimizer({ name: 'fedadam', lr: 0 })).toThrow(/lr must be > 0/);
    expect(() => resolveServerOptimizer({ name: 'fedavgm', beta1: 1 })).toThrow(/beta1/);
    expect(() => resolveServerOptimizer({ name: 'fedyogi', tau: -1 })).toThrow(/tau/);
    const a = createServerOptimizer({ name: 'fedadam' });
    expect(() => createServerOptimizer({ name: 'fedavgm' }).load(a.state())).toThrow(
      /state is for "fedadam"/,
    );
  });
});
