import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { createModel, disposeBatch, encodeBatch, resolveConfig } from '../src/model/index.js';
import { initNodeBackend } from '../src/node/index.js';
import { gaussian, mulberry32 } from '../src/random.js';
import { crossEntropy } from '../src/train/index.js';
import { TOY_ANSWERS, toySamples } from './model-helpers.js';

beforeAll(async () => {
  await initNodeBackend('wasm');
});

// Gradient of the training loss w.r.t. adapter (and LoRA) params vs central finite differences.
// float32: eps 1e-2 on a smooth loss (softmax CE, erf-GELU, LayerNorm), summed over the batch
// to raise its scale; compared by the relative error of the whole checked vector so that a
// single ReLU kink crossed by the perturbation cannot decide the outcome.
function gradCheck(peft: 'adapter' | 'lora') {
  const cfg = resolveConfig('tiny', {
    numLayers: 2,
    hidden: 32,
    numHeads: 2,
    mlpDim: 64,
    peft,
    vocabSize: 30522,
  });
  const m = createModel(cfg, { seed: 3, answers: TOY_ANSWERS });
  const rand = mulberry32(8);
  // Non-zero up/B projections so that every adapter parameter has a gradient.
  const upd: Record<string, { shape: number[]; data: Float32Array }> = {};
  for (const layer of m.layerNames()) {
    for (const n of m.paramNames(layer)) {
      const s = m.spec(n);
      const d = m.getParams([n])[n].data.map(() => gaussian(rand) * 0.2);
      upd[n] = { shape: s.shape, data: d };
    }
  }
  m.setParams(upd);
  const batch = encodeBatch(toySamples(6, 2), m);
  const names = [...m.layerNames().flatMap((l) => m.paramNames(l)), 'head/kernel'];
  const lossOf = (over: Record<string, tf.Tensor>) =>
    tf.tidy(() => crossEntropy(m.apply(over, batch), batch.labels).mul(batch.labels.shape[0]));
  const grads = tf.grads((...xs: tf.Tensor[]) => {
    const over: Record<string, tf.Tensor> = {};
    names.forEach((n, i) => (over[n] = xs[i]));
    return lossOf(over);
  })(names.map((n) => m.tensor(n)));
  const analytic: number[] = [];
  const numeric: number[] = [];
  const eps = 1e-2;
  names.forEach((n, k) => {
    const g = grads[k].dataSync();
    const base = m.getParams([n])[n];
    for (let j = 0; j < 4; j++) {
      const i = Math.floor(rand() * base.data.length);
      const plus = base.data.slice();
      plus[i] += eps;
      const minus = base.data.slice();
      minus[i] -= eps;
      const at = (v: Float32Array) => {
        const t = tf.tensor(v, base.shape);
        const l = lossOf({ [n]: t });
        const out = l.dataSync()[0];
        tf.dispose([t, l]);
        return out;
      };
      const lp = at(plus);
      const lm = at(minus);
      analytic.push(g[i]);
      numeric.push((lp - lm) / (2 * eps));
    }
  });
  tf.dispose(grads);
  disposeBatch(batch);
  const norm = (v: number[]) => Math.sqrt(v.reduce((a, b) => a + b * b, 0));
  const err = norm(analytic.map((a, i) => a - numeric[i])) / norm(analytic);
  return { err, gnorm: norm(analytic), n: analytic.length };
}

describe('gradient check vs finite differences', () => {
  it('adapter parameters', () => {
    const r = gradCheck('adapter');
    expect(r.n).toBe(36);
    expect(r.gnorm).toBeGreaterThan(1e-3);
    expect(r.err).toBeLessThan(2e-2);
  });
  it('LoRA parameters', () => {
    const r = gradCheck('lora');
    expect(r.gnorm).toBeGreaterThan(1e-3);
    expect(r.err).toBeLessThan(2e-2);
  });
});
