import { describe, expect, it } from 'vitest';
import { DEFAULT_CONFIG, resolveConfig } from '../src/config.js';
import { createPlanner } from '../src/planner.js';
import { serverOptimizerFlags } from '../src/simulate.js';
import type { NamedArrays } from '@focus-fl/core/tensors';

const t = (values: number[]) => ({ shape: [values.length], data: Float32Array.from(values) });

describe('federated recipe in the coordinator config', () => {
  it('DEFAULT_CONFIG names a valid local recipe and server optimiser', () => {
    const c = resolveConfig({});
    expect(c.localOptimizer).toBe(DEFAULT_CONFIG.localOptimizer);
    expect(c.answerMask).toBe(DEFAULT_CONFIG.answerMask);
    expect(c.serverOptimizer).toEqual(DEFAULT_CONFIG.serverOptimizer);
  });

  it('merges server optimiser fields; a new name starts from its own defaults', () => {
    const base = resolveConfig({ serverOptimizer: { name: 'fedadam', lr: 0.2, tau: 1e-2 } });
    expect(resolveConfig(base, { serverOptimizer: { lr: 0.05 } as never }).serverOptimizer).toEqual(
      {
        name: 'fedadam',
        lr: 0.05,
        tau: 1e-2,
      },
    );
    expect(resolveConfig(base, { serverOptimizer: { name: 'fedavgm' } }).serverOptimizer).toEqual({
      name: 'fedavgm',
    });
    expect(() => resolveConfig({ serverOptimizer: { name: 'sgd' as never } })).toThrow(
      /serverOptimizer/,
    );
    expect(() => resolveConfig({ localOptimizer: 'adam' as never })).toThrow(/localOptimizer/);
    expect(() => resolveConfig({ answerMask: 'all' as never })).toThrow(/answerMask/);
  });

  it('simulate flags build the server optimiser override (only what is given)', () => {
    const num = (_k: string, v: string | undefined) => (v === undefined ? undefined : Number(v));
    expect(serverOptimizerFlags({}, num)).toBeUndefined();
    expect(
      serverOptimizerFlags({ 'server-optimizer': 'fedyogi', 'server-lr': '0.3' }, num),
    ).toEqual({ name: 'fedyogi', lr: 0.3 });
    expect(serverOptimizerFlags({ 'server-tau': '0.01' }, num)).toEqual({ tau: 0.01 });
  });
});

describe('planner: server optimiser after the masked aggregation', () => {
  // Two sites, two layers: A (n=1) trains block0 + head, B (n=3) the head only.
  const global = { 'block0.adapter/w': t([1, 2]), 'block1.adapter/w': t([7]), 'head/w': t([0.5]) };
  const results: { site: string; numSamples: number; deltas: NamedArrays }[] = [
    {
      site: 'A',
      numSamples: 1,
      deltas: { 'block0.adapter/w': t([0.2, -0.4]), 'head/w': t([0.1]) },
    },
    { site: 'B', numSamples: 3, deltas: { 'head/w': t([0.5]) } },
  ];
  const assignments = { A: ['block0.adapter'], B: [] };
  const planner = (serverOptimizer: { name: 'fedavg' | 'fedavgm'; lr?: number; beta1?: number }) =>
    createPlanner({ strategy: 'full', algo: 'nsga2', seed: 0, solverMaxMs: 100, serverOptimizer });

  it('fedavg keeps the masked mean; fedavgm carries momentum across rounds per layer', () => {
    const avg = planner({ name: 'fedavg' }).aggregate({
      round: 1,
      global,
      assignments,
      results,
      failures: [],
    });
    expect(Array.from(avg.params['head/w'].data)[0]).toBeCloseTo(0.9, 6);
    expect(Array.from(avg.params['block1.adapter/w'].data)).toEqual([7]);
    expect(avg.contributors).toMatchObject({ 'block0.adapter': 1, 'block1.adapter': 0, head: 2 });

    const p = planner({ name: 'fedavgm', lr: 1, beta1: 0.9 });
    const r1 = p.aggregate({ round: 1, global, assignments, results, failures: [] });
    const r2 = p.aggregate({ round: 2, global: r1.params, assignments, results, failures: [] });
    // v2 = 0.9 * 0.4 + 0.4 = 0.76 on the head: 0.9 + 0.76.
    expect(r2.params['head/w'].data[0]).toBeCloseTo(1.66, 6);
    expect(r2.params['block0.adapter/w'].data[0]).toBeCloseTo(1 + 0.2 + 0.38, 6);
    expect(Array.from(r2.params['block1.adapter/w'].data)).toEqual([7]);
  });
});

describe('planner: the head averaged per answer', () => {
  // A head of two answers (kernel [1, 2], bias [2]); site A (n=1) trains answer 0 only (its
  // answer-1 delta is exactly zero), B (n=3) both.
  const global = { 'head/kernel': { shape: [1, 2], data: Float32Array.from([1, 1]) } };
  const results = [
    {
      site: 'A',
      numSamples: 1,
      deltas: { 'head/kernel': { shape: [1, 2], data: Float32Array.from([0.4, 0]) } },
    },
    {
      site: 'B',
      numSamples: 3,
      deltas: { 'head/kernel': { shape: [1, 2], data: Float32Array.from([-0.1, 0.2]) } },
    },
  ];
  const run = (headAggregation?: 'layer' | 'answer') =>
    createPlanner({
      strategy: 'full',
      algo: 'nsga2',
      seed: 0,
      solverMaxMs: 100,
      headAggregation,
    }).aggregate({ round: 1, global, assignments: { A: [], B: [] }, results, failures: [] }).params[
      'head/kernel'
    ].data;

  it("'answer' divides each answer by the samples of the sites that trained it", () => {
    // answer 0: (1*0.4 + 3*(-0.1)) / 4 = 0.025; answer 1: B alone, 0.2.
    const a = run('answer');
    expect(a[0]).toBeCloseTo(1.025, 6);
    expect(a[1]).toBeCloseTo(1.2, 6);
    // 'layer' (and the planner's default): answer 1 is 3 * 0.2 / 4 = 0.15.
    for (const l of [run('layer'), run()]) {
      expect(l[0]).toBeCloseTo(1.025, 6);
      expect(l[1]).toBeCloseTo(1.15, 6);
    }
    expect(DEFAULT_CONFIG.headAggregation).toBe('answer');
    expect(() => resolveConfig({ headAggregation: 'row' as never })).toThrow(/headAggregation/);
  });
});
