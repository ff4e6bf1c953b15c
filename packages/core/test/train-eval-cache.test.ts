// evaluate's embedding cache (train/eval-embed-cache.ts) must be exact: the same results, bit
// for bit in the loss, with the cache on, off, warm and partly warm; it must notice a changed
// embedding weight, a changed sample and a switched kernel set, and leak no tensor.
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createModel, resolveConfig, useFusedKernels } from '../src/model/index.js';
import { initNodeBackend } from '../src/node/index.js';
import { evaluate } from '../src/train/index.js';
import { evalEmbedCacheHits, setEvalEmbedCacheBytes } from '../src/train/eval-embed-cache.js';
import { TOY_ANSWERS, toySamples } from './model-helpers.js';

const small = resolveConfig('tiny', { numLayers: 2 });
const samples = toySamples(19, 5);

beforeAll(async () => {
  await initNodeBackend('wasm');
});
afterAll(() => {
  setEvalEmbedCacheBytes(32 * 2 ** 20);
  useFusedKernels(true);
});

const uncached = async (m: ReturnType<typeof createModel>, s = samples) => {
  const prev = setEvalEmbedCacheBytes(0);
  try {
    return await evaluate(m, s, { batchSize: 8, predictions: true });
  } finally {
    setEvalEmbedCacheBytes(prev);
  }
};

describe('evaluate embedding cache', () => {
  it('gives the same results cold, warm and partly warm, and leaks nothing', async () => {
    const m = createModel(small, { seed: 2, answers: TOY_ANSWERS });
    const ref = await uncached(m);
    const before = tf.memory().numTensors;
    const h0 = evalEmbedCacheHits();
    const cold = await evaluate(m, samples, { batchSize: 8, predictions: true });
    expect(evalEmbedCacheHits()).toBe(h0);
    const warm = await evaluate(m, samples, { batchSize: 8, predictions: true });
    expect(evalEmbedCacheHits()).toBe(h0 + samples.length);
    // A different chunking: chunks mixing cached samples and new ones.
    const more = [...toySamples(5, 9), ...samples];
    const mixed = await evaluate(m, more, { batchSize: 8, predictions: true });
    expect(tf.memory().numTensors).toBe(before);
    for (const r of [cold, warm]) expect(r).toEqual(ref);
    expect(mixed).toEqual(await uncached(m, more));
    m.dispose();
  });

  it('notices a changed embedding weight, a changed sample and other kernels', async () => {
    const m = createModel(small, { seed: 4, answers: TOY_ANSWERS });
    await evaluate(m, samples, { batchSize: 8, predictions: true });
    // An embedding weight changes (as setParams would after pretraining).
    const k = m.getParams(['patch_embed/kernel']);
    k['patch_embed/kernel'].data.forEach((v, i, a) => (a[i] = v * 1.5 + 0.01));
    m.setParams(k);
    const h0 = evalEmbedCacheHits();
    const a = await evaluate(m, samples, { batchSize: 8, predictions: true });
    expect(evalEmbedCacheHits()).toBe(h0);
    expect(a).toEqual(await uncached(m));
    // A sample object whose question is edited in place.
    const edited = samples.map((s) => ({ ...s }));
    await evaluate(m, edited, { batchSize: 8, predictions: true });
    edited[0].question = 'is the bright half on the right?';
    expect(await evaluate(m, edited, { batchSize: 8, predictions: true })).toEqual(
      await uncached(m, edited),
    );
    // Switching the fused kernels off changes float rounding: entries made with them are not used.
    useFusedKernels(false);
    try {
      expect(await evaluate(m, samples, { batchSize: 8, predictions: true })).toEqual(
        await uncached(m),
      );
    } finally {
      useFusedKernels(true);
    }
    m.dispose();
  });

  it('rejects a negative bound', () => {
    expect(() => setEvalEmbedCacheBytes(-1)).toThrow(/must be >= 0/);
  });
});
