// LNTK with the samples split into chunks (one batched backward pass per chunk) against the
// one-shot batched pass, the per-sample reference path, and ml-matrix's eigendecomposition.
import * as tf from '@tensorflow/tfjs';
import { EigenvalueDecomposition, Matrix } from 'ml-matrix';
import { beforeAll, describe, expect, it } from 'vitest';
import { answerVocabulary, syntheticClient } from '../src/data/index.js';
import { lntkOf, type LntkResult } from '../src/importance/lntk.js';
import { computeLntk, vqaDifferentiable } from '../src/importance/vqa.js';
import { PRESETS, createModel } from '../src/model/index.js';
import { gaussian, mulberry32 } from '../src/random.js';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

const samples = syntheticClient('dermatoscope', { seed: 5 }).train.slice(0, 7);
function liveModel() {
  const m = createModel(
    { ...PRESETS.tiny, numLayers: 3 },
    { seed: 4, answers: answerVocabulary() },
  );
  const rand = mulberry32(9);
  const values = m.getParams(m.layerNames().flatMap((l) => m.paramNames(l)));
  for (const v of Object.values(values))
    v.data = Float32Array.from(v.data, () => 0.1 * gaussian(rand));
  m.setParams(values);
  return m;
}

/** Max over entries of |a - b|, relative to the largest |b| entry of that layer's Gram. */
function gramError(a: LntkResult, b: LntkResult): number {
  let worst = 0;
  a.grams!.forEach((G, l) => {
    const R = b.grams![l];
    const scale = Math.max(...Array.from(R, Math.abs));
    for (let k = 0; k < G.length; k++) worst = Math.max(worst, Math.abs(G[k] - R[k]) / scale);
  });
  return worst;
}

function topEigenMlMatrix(G: Float64Array, m: number): number {
  const M = new Matrix(m, m);
  for (let a = 0; a < m; a++) for (let b = 0; b < m; b++) M.set(a, b, G[a * m + b]);
  return Math.max(...new EigenvalueDecomposition(M, { assumeSymmetric: true }).realEigenvalues);
}

describe('chunked LNTK', () => {
  // Measured on cpu: Gram entries differ by <= ~1e-7 of the layer's largest entry (float32
  // rounding of the per-chunk matmuls); lambda_1 by <= ~1e-7 relative.
  const TOL = 1e-5;

  for (const chunkSize of [1, 2, 3]) {
    it(`chunks of ${chunkSize} (7 samples, kappa = 2) equal the one-shot pass`, () => {
      const model = liveModel();
      const opts = { seed: 2, kernel: 'projections' as const, projections: 2, keepGrams: true };
      const one = computeLntk(model, samples, { ...opts, chunkSize: samples.length });
      const chunked = computeLntk(model, samples, { ...opts, chunkSize });
      expect(one.path).toBe('batched');
      expect(chunked.path).toBe('batched');
      expect(chunked.rows).toBe(14);
      const err = gramError(chunked, one);
      const lam = Math.max(
        ...chunked.lambda1.map((x, l) => Math.abs(x - one.lambda1[l]) / one.lambda1[l]),
      );
      console.log(
        `LNTK chunk ${chunkSize} vs one-shot: Gram max rel ${err}, lambda_1 max rel ${lam}`,
      );
      expect(err).toBeLessThan(TOL);
      expect(lam).toBeLessThan(TOL);
      model.dispose();
    });
  }

  it('chunked lambda_1 equals ml-matrix eigenvalues of the per-sample reference Gram', () => {
    const model = liveModel();
    const opts = { seed: 3, keepGrams: true };
    const chunked = computeLntk(model, samples, { ...opts, chunkSize: 2 });
    const ref = computeLntk(model, samples, { ...opts, batched: false });
    expect(ref.path).toBe('per-sample');
    ref.grams!.forEach((G, l) => {
      const exact = topEigenMlMatrix(G, ref.rows);
      expect(Math.abs(chunked.lambda1[l] - exact) / exact).toBeLessThan(1e-4);
    });
    model.dispose();
  });

  it('sizes chunks itself by default and rejects a bad chunkSize', () => {
    const model = liveModel();
    const d = vqaDifferentiable(model, samples);
    expect(() => lntkOf(d, { chunkSize: 0 })).toThrow(/chunkSize must be a positive integer/);
    d.dispose();
    expect(computeLntk(model, samples, { seed: 1 }).path).toBe('batched');
    model.dispose();
  });

  it('does not leak when chunked, nor when the batched path falls back', () => {
    const model = liveModel();
    const d = vqaDifferentiable(model, samples);
    // Taps every adapter op except the up-projections: batchedRows must give up (a scored
    // parameter is not tapped) and lntkOf fall back to per-sample passes.
    const partial = {
      ...d,
      tappedOutput: (
        p: Record<string, tf.Tensor>,
        idx: readonly number[],
        tap: Parameters<NonNullable<typeof d.tappedOutput>>[2],
      ) =>
        d.tappedOutput!(p, idx, (op, x, y) =>
          op.kernel.endsWith('up_kernel') ? y : tap(op, x, y),
        ),
    };
    lntkOf(d, { chunkSize: 3 }); // warm-up (cached sub-batches)
    lntkOf(partial, { chunkSize: 3 });
    const before = tf.memory().numTensors;
    expect(lntkOf(d, { chunkSize: 3 }).path).toBe('batched');
    expect(lntkOf(partial, { chunkSize: 3 }).path).toBe('per-sample');
    expect(tf.memory().numTensors).toBe(before);
    d.dispose();
    model.dispose();
  });
});
