import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { hessianVectorProduct } from '../src/importance/hvp.js';
import { SCORER_METHODS, layerScores, topB, type ScorerMethod } from '../src/importance/scorers.js';
import type { NamedArrays } from '../src/tensors/named.js';
import { branchModel, randn } from './importance-fixtures.js';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

// Three identical branches with gains s: z = sum_l s_l (X W0 + b_l). Every gradient of branch l
// is s_l times the same vector, so each scorer is an exact power of s_l (derivations inline).
const gains = [0.5, 2, 1];

function expectProportional(scores: number[], target: number[], digits = 6) {
  const c = scores[0] / target[0];
  expect(Math.abs(c)).toBeGreaterThan(0);
  scores.forEach((s, i) => expect(s / target[i] / c).toBeCloseTo(1, digits));
}

describe('baseline scorers on branches with known gains', () => {
  const s = gains;
  const s2 = gains.map((g) => g * g);
  const cases: [ScorerMethod, number[], number][] = [
    ['snip', s, 6], // |g * theta|, g_l = s_l g0
    ['fishmask', s2, 6], // mean of g_l^2
    ['spt', s2, 6], // sum over batches of g_l^2
    ['rgn', s, 6], // ||g_l|| / ||theta_l||, theta_l identical
    // (H g)_l = s_l (sum_m s_m^2) J^T H_z J J^T r: theta . Hg is linear in s_l. HVP by finite
    // differences, hence the looser match.
    ['grasp', s, 2],
    ['gradflow', s, 2],
    ['synflow', s, 6], // R = sum_l s_l (1^T |W0| 1 + ...), dR/dW_l = s_l
    ['lntk', s2, 5],
  ];
  for (const [method, target, digits] of cases)
    it(`${method} is proportional to ${target === s ? 's' : 's^2'}`, () => {
      const m = branchModel(gains, 4);
      const scores = layerScores(method, m, { seed: 1 });
      expect(scores).toHaveLength(3);
      expectProportional(scores, target, digits);
      expect(topB(scores, 1)).toEqual([1]); // the branch with gain 2
      m.dispose();
    });

  it('lntk scores are exactly s^2 / sum s^2', () => {
    const m = branchModel(gains, 5);
    const sc = layerScores('lntk', m);
    const tot = s2.reduce((a, b) => a + b, 0);
    sc.forEach((x, i) => expect(x).toBeCloseTo(s2[i] / tot, 5));
    m.dispose();
  });

  it('magnitude picks the layer with the largest weights; mean = sum / count', () => {
    const m = branchModel([1, 1, 1], 6);
    const W = m.params['branch2/kernel'];
    (m.params as Record<string, tf.Tensor>)['branch2/kernel'] = tf.mul(W, 3);
    W.dispose();
    const sum = layerScores('magnitude', m);
    expect(sum[2] / sum[0]).toBeCloseTo(3, 5);
    expect(sum[1]).toBeCloseTo(sum[0], 5);
    const mean = layerScores('magnitude', m, { reduce: 'mean' });
    const count = 4 * 3 + 3;
    mean.forEach((x, i) => expect(x).toBeCloseTo(sum[i] / count, 6));
    m.dispose();
  });

  it('last ranks by depth; random is seeded and changes with the seed', () => {
    const m = branchModel(gains, 7);
    expect(topB(layerScores('last', m), 2)).toEqual([1, 2]);
    const a = layerScores('random', m, { seed: 3 });
    expect(layerScores('random', m, { seed: 3 })).toEqual(a);
    expect(layerScores('random', m, { seed: 4 })).not.toEqual(a);
    m.dispose();
  });

  it('fedselect sums |delta| per layer and validates the delta', () => {
    const m = branchModel(gains, 8);
    const delta: NamedArrays = {};
    m.layers.forEach((l, i) => {
      delta[`${l}/kernel`] = { shape: [4, 3], data: new Float32Array(12).fill(i === 0 ? -2 : 0.5) };
      delta[`${l}/bias`] = { shape: [3], data: new Float32Array(3) };
    });
    expect(layerScores('fedselect', m, { delta })).toEqual([24, 6, 6]);
    expect(() => layerScores('fedselect', m)).toThrow(/opts.delta/);
    delete delta['branch1/bias'];
    expect(() => layerScores('fedselect', m, { delta })).toThrow(/branch1\/bias/);
    m.dispose();
  });

  it('a dead branch (gain 0) scores 0 under every gradient scorer', () => {
    const m = branchModel([0, 1, 1], 9);
    for (const method of [
      'snip',
      'fishmask',
      'spt',
      'rgn',
      'grasp',
      'gradflow',
      'synflow',
      'lntk',
    ] as const)
      expect(Math.abs(layerScores(method, m)[0])).toBeLessThan(1e-9);
    m.dispose();
  });

  it('errors name the problem', () => {
    const m = branchModel(gains, 10);
    expect(() => layerScores('nope' as never, m)).toThrow(/unknown scorer "nope"; valid: last/);
    const noOnes = { ...m, onesOutput: undefined };
    expect(() => layerScores('synflow', noOnes)).toThrow(/onesOutput/);
    expect(() => layerScores('spt', m, { sptBatchSize: 99 })).toThrow(/sptBatchSize/);
    m.dispose();
  });

  it('no scorer leaks tensors', () => {
    const m = branchModel(gains, 11);
    const delta: NamedArrays = {};
    for (const n of Object.keys(m.params))
      delta[n] = { shape: m.params[n].shape, data: new Float32Array(m.params[n].size) };
    for (const method of SCORER_METHODS) layerScores(method, m, { delta });
    const before = tf.memory().numTensors;
    for (const method of SCORER_METHODS) layerScores(method, m, { delta });
    expect(tf.memory().numTensors).toBe(before);
    m.dispose();
  });
});

describe('hessianVectorProduct', () => {
  it('equals A v for a quadratic 0.5 x^T A x + b^T x', () => {
    const n = 5;
    const B = randn(n * n, 1);
    const A = new Float32Array(n * n); // A = B B^T + I (symmetric)
    for (let i = 0; i < n; i++)
      for (let j = 0; j < n; j++) {
        let s = i === j ? 1 : 0;
        for (let k = 0; k < n; k++) s += B[i * n + k] * B[j * n + k];
        A[i * n + j] = s;
      }
    const At = tf.tensor2d(A, [n, n]);
    const b = tf.tensor1d(randn(n, 2));
    const x = tf.tensor1d(randn(n, 3));
    const v = randn(n, 4);
    const loss = (p: Record<string, tf.Tensor>) =>
      tf.tidy(() => {
        const xx = p.x.reshape([n, 1]);
        return tf.add(
          tf.mul(0.5, tf.matMul(xx, tf.matMul(At, xx), true)).sum(),
          tf.dot(b, p.x),
        ) as tf.Scalar;
      });
    const hv = hessianVectorProduct(loss, { x }, { x: v }, ['x']).x;
    for (let i = 0; i < n; i++) {
      let ref = 0;
      for (let j = 0; j < n; j++) ref += A[i * n + j] * v[j];
      expect(hv[i]).toBeCloseTo(ref, 2);
      expect(Math.abs(hv[i] - ref) / (Math.abs(ref) + 1)).toBeLessThan(1e-3);
    }
    tf.dispose([At, b, x]);
  });
});

describe('topB', () => {
  it('returns the top indices in layer order, ties to the earlier layer', () => {
    expect(topB([0.1, 0.5, 0.2, 0.5], 2)).toEqual([1, 3]);
    expect(topB([1, 1, 1], 2)).toEqual([0, 1]);
    expect(topB([3, 1], 5)).toEqual([0, 1]);
    expect(topB([3, 1], 0)).toEqual([]);
    expect(() => topB([1], -1)).toThrow(/B must be/);
    expect(() => topB([NaN], 1)).toThrow(/NaN/);
  });
});
