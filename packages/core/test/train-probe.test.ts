import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { createModel, disposeBatch, encodeBatch, resolveConfig } from '../src/model/index.js';
import { initNodeBackend } from '../src/node/index.js';
import { mulberry32, gaussian } from '../src/random.js';
import {
  imageTokenFeatures,
  linearProbe,
  pooledFeatures,
  PROBE_QUESTION,
  shapesTask,
  SHAPES_ANSWERS,
  tunedLinearProbe,
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

  it('image-token features are the mean patch token after the last block / every block', () => {
    const c = resolveConfig('tiny', { numLayers: 3 });
    const m = createModel(c, { seed: 5, answers: SHAPES_ANSWERS });
    const samples = shapesTask(5, 3);
    const n0 = tf.memory().numTensors;
    const last = imageTokenFeatures(m, samples, { batchSize: 2 });
    const all = imageTokenFeatures(m, samples, { blocks: 'all', batchSize: 3 });
    expect(tf.memory().numTensors).toBe(n0);
    expect(last.length).toBe(5 * c.hidden);
    expect(all.length).toBe(5 * 3 * c.hidden);
    // Reference: the hidden state after block l from forwardPrefix, its patch rows averaged.
    const batch = encodeBatch(
      samples.map((s) => ({ ...s, question: PROBE_QUESTION })),
      { config: m.config, answers: m.answers },
    );
    const T = c.maxTextLen;
    for (let l = 1; l <= 3; l++) {
      const pre = m.forwardPrefix(batch, l);
      const x = pre.state.x.arraySync();
      tf.dispose([pre.state.x, pre.state.bias]);
      for (let i = 0; i < 5; i++)
        for (let h = 0; h < c.hidden; h++) {
          let sum = 0;
          for (let t = T + 1; t < x[i].length; t++) sum += x[i][t][h];
          const want = sum / (x[i].length - T - 1);
          expect(all[(i * 3 + l - 1) * c.hidden + h]).toBeCloseTo(want, 4);
          if (l === 3) expect(last[i * c.hidden + h]).toBeCloseTo(want, 4);
        }
    }
    disposeBatch(batch);
    m.dispose();
  });

  it('tuned probe picks L2 on the training folds only and refits on all of them', () => {
    const seed = 21;
    const tr = clusters(160, 12, 4, 0.8, seed);
    const te = clusters(80, 12, 4, 0.8, seed);
    const grid = [1e-4, 1e-2, 1];
    const r = tunedLinearProbe(tr.x, tr.y, te.x, te.y, { l2Grid: grid, folds: 4, steps: 100 });
    expect(r.validation.map((v) => v.l2)).toEqual(grid);
    const best = Math.max(...r.validation.map((v) => v.accuracy));
    expect(r.validation.find((v) => v.l2 === r.l2)?.accuracy).toBe(best);
    // The refit is linearProbe on the whole training set with the chosen penalty.
    const direct = linearProbe(tr.x, tr.y, te.x, te.y, { l2: r.l2, steps: 100 });
    expect(r.testAccuracy).toBe(direct.testAccuracy);
    expect(r.testPredictions).toEqual(direct.testPredictions);
    // The test set plays no part in the choice: other test labels, the same penalty.
    const other = tunedLinearProbe(tr.x, tr.y, te.x, [...te.y].reverse(), {
      l2Grid: grid,
      folds: 4,
      steps: 100,
    });
    expect(other.l2).toBe(r.l2);
    expect(other.validation).toEqual(r.validation);
    expect(() => tunedLinearProbe(tr.x, tr.y, te.x, te.y, { folds: 1 })).toThrow(/folds/);
    expect(() => tunedLinearProbe(tr.x, tr.y, te.x, te.y, { l2Grid: [] })).toThrow(/empty/);
  });
});
