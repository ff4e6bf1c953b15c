import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { createModel, disposeBatch, encodeBatch, resolveConfig } from '../src/model/index.js';
import { initNodeBackend } from '../src/node/index.js';
import { mulberry32, gaussian } from '../src/random.js';
import {
  linearProbe,
  pooledFeatures,
  PROBE_QUESTION,
  shapesTask,
  SHAPES_ANSWERS,
} from '../src/train/index.js';

beforeAll(async () => {
  await initNodeBackend('wasm');
});

/** Gaussian clusters in d dims, one per class, `sep` apart along random directions. */
function clusters(n: number, d: number, k: number, sep: number, seed: number) {
  const rand = mulberry32(seed);
  const centres = Array.from({ length: k }, () =>
    Array.from({ length: d }, () => gaussian(rand) * sep),
  );
  const x = new Float32Array(n * d);
  const y: number[] = [];
  for (let i = 0; i < n; i++) {
    const c = i % k;
    y.push(c);
    for (let j = 0; j < d; j++) x[i * d + j] = centres[c][j] + gaussian(rand);
  }
  return { x, y };
}

describe('linear probe', () => {
  it('separates well-separated clusters and cannot learn random labels', () => {
    const seed = 11;
    const tr = clusters(240, 8, 4, 3, seed);
    const te = clusters(120, 8, 4, 3, seed); // same centres (same seed), fresh order below
    const r = linearProbe(tr.x, tr.y, te.x, te.y, { steps: 200 });
    expect(r.classes).toBe(4);
    expect(r.testAccuracy).toBeGreaterThan(0.95);
    // Labels independent of the features: held-out accuracy near chance (1/4).
    const rand = mulberry32(seed + 1);
    const noise = (n: number) => Float32Array.from({ length: n * 8 }, () => gaussian(rand));
    const shuffled = linearProbe(noise(240), tr.y, noise(120), te.y, { steps: 200 });
    expect(shuffled.testAccuracy).toBeLessThan(0.45);
  });

  it('refuses mismatched shapes and bad labels', () => {
    const x = new Float32Array(6);
    expect(() => linearProbe(x, [0, 1, 0], new Float32Array(5), [0, 1])).toThrow(/do not match/);
    expect(() => linearProbe(x, [0, -1, 0], new Float32Array(4), [0, 1])).toThrow(/bad label/);
    expect(() => linearProbe(x, [], x, [0])).toThrow(/non-empty/);
  });

  it('pooled features are what the head reads: head(features) == the model logits', async () => {
    const c = resolveConfig('tiny', { numLayers: 2 });
    const m = createModel(c, { seed: 4, answers: SHAPES_ANSWERS });
    const samples = shapesTask(10, 2).map((s) => ({ ...s, question: PROBE_QUESTION }));
    const n0 = tf.memory().numTensors;
    const f = pooledFeatures(m, samples, { batchSize: 4 });
    expect(tf.memory().numTensors).toBe(n0);
    expect(f.length).toBe(10 * c.hidden);
    const batch = encodeBatch(samples, { config: m.config, answers: m.answers });
    const logits = await m.predictLogits(batch);
    disposeBatch(batch);
    const viaHead = tf.tidy(() =>
      tf
        .tensor2d(f, [10, c.hidden])
        .matMul(m.tensor('head/kernel') as tf.Tensor2D)
        .add(m.tensor('head/bias'))
        .dataSync(),
    );
    for (let i = 0; i < logits.length; i++) expect(viaHead[i]).toBeCloseTo(logits[i], 4);
    m.dispose();
  });
});
