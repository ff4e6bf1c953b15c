import * as tf from '@tensorflow/tfjs';
import { Matrix, SingularValueDecomposition } from 'ml-matrix';
import { beforeAll, describe, expect, it } from 'vitest';
import type { Differentiable } from '../src/importance/differentiable.js';
import { kernelVectors, lntkOf } from '../src/importance/lntk.js';
import { adapterModel, branchModel, linearModel, mlpModel } from './importance-fixtures.js';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

function sigmaMax2(rows: number[][]): number {
  const s = new SingularValueDecomposition(new Matrix(rows), {
    computeLeftSingularVectors: false,
    computeRightSingularVectors: false,
  }).diagonal;
  return Math.max(...s) ** 2;
}

const rel = (a: number, b: number) => Math.abs(a - b) / Math.abs(b);

describe('LNTK on a linear layer (analytic: lambda_1 = c * sigma_max(X)^2)', () => {
  it('full kernel: lambda_1 = sigma_max(X)^2', () => {
    const { model, X } = linearModel(6, 4, 3, 1);
    const r = lntkOf(model, { kernel: 'full' });
    expect(r.rows).toBe(18);
    expect(rel(r.lambda1[0], sigmaMax2(X))).toBeLessThan(1e-5);
    expect(r.scores).toEqual([1]);
    model.dispose();
  });
  it('summed kernel: lambda_1 = sigma_max(X)^2; true-logit with one label: (1 - 1/K) sigma^2', () => {
    const K = 5;
    const { model, X } = linearModel(7, 3, K, 2, new Array(7).fill(2));
    expect(rel(lntkOf(model, { kernel: 'summed' }).lambda1[0], sigmaMax2(X))).toBeLessThan(1e-5);
    const t = lntkOf(model, { kernel: 'true-logit' }).lambda1[0];
    expect(rel(t, (1 - 1 / K) * sigmaMax2(X))).toBeLessThan(1e-5);
    model.dispose();
  });
});

/** Independent path: the explicit Jacobian of the MLP, by hand in float64, then ml-matrix SVD. */
function mlpJacobianRows(
  f: ReturnType<typeof mlpModel>,
  dims: { n: number; d: number; h: number; K: number },
  vectors: (i: number) => Float32Array[],
): { l1: number[][]; l2: number[][] } {
  const { n, d, h, K } = dims;
  const l1: number[][] = [];
  const l2: number[][] = [];
  for (let i = 0; i < n; i++) {
    const a = new Array<number>(h);
    for (let j = 0; j < h; j++) {
      let s = f.b1[j];
      for (let k = 0; k < d; k++) s += f.Xd[i * d + k] * f.W1[k * h + j];
      a[j] = Math.tanh(s);
    }
    for (const v of vectors(i)) {
      // d(v.z)/dW2[j,c] = a_j v_c ; d/db2[c] = v_c
      const r2: number[] = [];
      for (let j = 0; j < h; j++) for (let c = 0; c < K; c++) r2.push(a[j] * v[c]);
      for (let c = 0; c < K; c++) r2.push(v[c]);
      // back to hidden: u_j = (1 - a_j^2) sum_c W2[j,c] v_c ; d/dW1[k,j] = x_k u_j ; d/db1 = u
      const u = new Array<number>(h);
      for (let j = 0; j < h; j++) {
        let s = 0;
        for (let c = 0; c < K; c++) s += f.W2[j * K + c] * v[c];
        u[j] = (1 - a[j] * a[j]) * s;
      }
      const r1: number[] = [];
      for (let k = 0; k < d; k++) for (let j = 0; j < h; j++) r1.push(f.Xd[i * d + k] * u[j]);
      r1.push(...u);
      l1.push(r1);
      l2.push(r2);
    }
  }
  return { l1, l2 };
}

describe('LNTK on a 2-layer MLP against an explicit Jacobian + ml-matrix SVD', () => {
  const dims = { n: 8, d: 5, h: 6, K: 4 };
  for (const kernel of ['full', 'true-logit', 'projections', 'summed'] as const) {
    it(`${kernel} kernel: relative error < 1e-3`, () => {
      const f = mlpModel(dims.n, dims.d, dims.h, dims.K, 11);
      const r = lntkOf(f.model, { kernel, seed: 5, projections: 3 });
      const shared =
        kernel === 'true-logit'
          ? undefined
          : kernelVectors(kernel, dims.K, { seed: 5, projections: 3 });
      const J = mlpJacobianRows(
        f,
        dims,
        (i) => shared ?? kernelVectors(kernel, dims.K, { label: f.model.labels[i] }),
      );
      const ref = [sigmaMax2(J.l1), sigmaMax2(J.l2)];
      expect(r.layers).toEqual(['l1', 'l2']);
      for (let l = 0; l < 2; l++) expect(rel(r.lambda1[l], ref[l])).toBeLessThan(1e-3);
      const total = ref[0] + ref[1];
      for (let l = 0; l < 2; l++) expect(r.scores[l]).toBeCloseTo(ref[l] / total, 4);
      f.model.dispose();
    });
  }

  it('satisfies tr(G)/rank <= lambda_1 <= tr(G) per layer', () => {
    const f = mlpModel(dims.n, dims.d, dims.h, dims.K, 12);
    const r = lntkOf(f.model, { kernel: 'projections', projections: 2, keepGrams: true });
    r.grams!.forEach((G, l) => {
      const m = r.rows;
      let tr = 0;
      for (let i = 0; i < m; i++) tr += G[i * m + i];
      expect(r.lambda1[l]).toBeLessThanOrEqual(tr * (1 + 1e-9));
      expect(r.lambda1[l]).toBeGreaterThanOrEqual((tr / m) * (1 - 1e-9));
    });
    f.model.dispose();
  });
});

/** Row r of J restricted to each parameter (sample i, vector j: r = i * kappa + j), float32,
 * from one batch-1 tf.grads per row: the per-sample path's rows, taken here independently. */
function float32Rows(
  model: Differentiable,
  vectors: (i: number) => Float32Array[],
): Record<string, Float32Array[]> {
  const names = model.layers.flatMap((l) => model.paramsOf(l));
  const rows: Record<string, Float32Array[]> = Object.fromEntries(names.map((n) => [n, []]));
  for (let i = 0; i < model.numSamples; i++)
    for (const v of vectors(i)) {
      const gs = tf.grads((...xs: tf.Tensor[]) => {
        const p = Object.fromEntries(names.map((n, k) => [n, xs[k]]));
        return tf.sum(tf.mul(model.output(p, [i]), tf.tensor2d(v, [1, v.length]))) as tf.Scalar;
      })(names.map((n) => model.params[n]));
      names.forEach((n, k) => rows[n].push(gs[k].dataSync() as Float32Array));
      tf.dispose(gs);
    }
  return rows;
}

describe('LNTK Gram matrices', () => {
  // accumulateGram tiles rows and columns; every entry must still be the plain float64 sum
  // over each parameter's elements in order, parameters in order: equal bit for bit.
  for (const [n, kernel] of [
    [7, 'true-logit'], // odd m = 7: the last row outside the two-row tiles
    [8, 'true-logit'], // m = 8
    [5, 'full'], // m = 5 * K = 15
  ] as const) {
    it(`equal the naive float64 inner products of the rows exactly (${kernel}, n = ${n})`, () => {
      const K = 3;
      const f = mlpModel(n, 5, 6, K, 40 + n);
      const r = lntkOf(f.model, { kernel, batched: false, keepGrams: true });
      const rows = float32Rows(f.model, (i) =>
        kernelVectors(kernel, K, { label: f.model.labels[i] }),
      );
      const m = r.rows;
      f.model.layers.forEach((l, li) => {
        const G = new Float64Array(m * m);
        for (const name of f.model.paramsOf(l))
          for (let a = 0; a < m; a++)
            for (let b = a; b < m; b++) {
              let s = 0;
              for (let k = 0; k < rows[name][a].length; k++)
                s += rows[name][a][k] * rows[name][b][k];
              G[a * m + b] += s;
            }
        for (let a = 0; a < m; a++) for (let b = 0; b < a; b++) G[a * m + b] = G[b * m + a];
        expect(Array.from(r.grams![li])).toEqual(Array.from(G));
      });
      f.model.dispose();
    });
  }
});

describe('LNTK invariances', () => {
  it('scores are non-negative, sum to 1 and equal s_l^2 / sum s^2 for gained branches', () => {
    const gains = [0.5, 1, 2];
    const m = branchModel(gains, 3);
    for (const kernel of ['true-logit', 'full', 'projections'] as const) {
      const r = lntkOf(m, { kernel });
      const tot = gains.reduce((a, g) => a + g * g, 0);
      expect(r.scores.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 12);
      r.scores.forEach((s, i) => {
        expect(s).toBeGreaterThanOrEqual(0);
        expect(s).toBeCloseTo(gains[i] ** 2 / tot, 5);
      });
    }
    m.dispose();
  });

  it('is unchanged by batch order', () => {
    const f = mlpModel(6, 3, 4, 3, 21);
    const a = lntkOf(f.model, { kernel: 'projections', seed: 1 });
    const perm = [3, 0, 5, 1, 4, 2];
    const shuffled: Differentiable = {
      ...f.model,
      labels: perm.map((i) => f.model.labels[i]),
      output: (p, idx) =>
        f.model.output(
          p,
          idx.map((i) => perm[i]),
        ),
    };
    const b = lntkOf(shuffled, { kernel: 'projections', seed: 1 });
    for (let l = 0; l < 2; l++) expect(rel(b.lambda1[l], a.lambda1[l])).toBeLessThan(1e-9);
    f.model.dispose();
  });

  it('is deterministic for a seed, and the projections depend on it', () => {
    const f = mlpModel(6, 3, 4, 5, 22);
    const a = lntkOf(f.model, { kernel: 'projections', seed: 7 });
    const b = lntkOf(f.model, { kernel: 'projections', seed: 7 });
    const c = lntkOf(f.model, { kernel: 'projections', seed: 8 });
    expect(b.lambda1).toEqual(a.lambda1);
    expect(c.lambda1).not.toEqual(a.lambda1);
    f.model.dispose();
  });

  it('does not leak tensors', () => {
    const f = mlpModel(6, 3, 4, 3, 23);
    lntkOf(f.model); // warm-up allocations of the backend
    const before = tf.memory().numTensors;
    lntkOf(f.model, { kernel: 'full' });
    lntkOf(f.model, { probe: 'zero-kernels' });
    expect(tf.memory().numTensors).toBe(before);
    f.model.dispose();
  });
});

describe('LNTK pitfalls', () => {
  it('a zero up-projection zeroes the down-projection score unless probed', () => {
    const m = adapterModel(31);
    const plain = lntkOf(m);
    expect(plain.lambda1[0]).toBe(0); // `down`: gradient gated by U = 0
    expect(plain.lambda1[1]).toBeGreaterThan(0);
    const probed = lntkOf(m, { probe: 'zero-kernels', seed: 3 });
    expect(probed.lambda1[0]).toBeGreaterThan(0);
    expect(probed.lambda1[1]).toBeGreaterThan(0);
    // the probe is for scoring only: the model's own values stay zero
    expect(Array.from(m.params['up/kernel'].dataSync()).every((x) => x === 0)).toBe(true);
    m.dispose();
  });

  it('a zero head fails loudly instead of dividing 0 by 0', () => {
    const m = adapterModel(32, true);
    expect(() => lntkOf(m, { probe: 'zero-kernels' })).toThrow(/head/);
    m.dispose();
  });

  it('rejects unknown kernels and probes by name', () => {
    const { model } = linearModel(3, 2, 2, 1);
    expect(() => lntkOf(model, { kernel: 'nope' as never })).toThrow(/unknown LNTK kernel "nope"/);
    expect(() => lntkOf(model, { probe: 'x' as never })).toThrow(/probe must be/);
    model.dispose();
  });
});
