import * as tf from '@tensorflow/tfjs';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createModel, disposeBatch, encodeBatch, resolveConfig } from '../src/model/index.js';
import { initNodeBackend } from '../src/node/index.js';
import { gaussian, mulberry32 } from '../src/random.js';
import {
  activationFloatsPerSample,
  autoMicroBatchSize,
  backendLimits,
  forgetActivationBytes,
  DEFAULT_BUDGET_BYTES,
  evaluate,
  lossAndGrads,
  measuredActivationBytes,
  probeActivationBytes,
  microBatchedLossAndGrads,
  setBackendLimits,
  trainLayers,
} from '../src/train/index.js';
import { TOY_ANSWERS, toySamples } from './model-helpers.js';

beforeAll(async () => {
  await initNodeBackend('wasm');
});
afterEach(() => {
  setBackendLimits(undefined);
  forgetActivationBytes();
});

/** Tiny model with live (non-zero) adapter up-projections so every gradient is non-trivial. */
function liveModel() {
  const m = createModel('tiny', { seed: 5, answers: TOY_ANSWERS });
  const rand = mulberry32(11);
  const upd: Record<string, { shape: number[]; data: Float32Array }> = {};
  for (const l of m.layerNames())
    for (const n of m.paramNames(l))
      upd[n] = {
        shape: m.spec(n).shape,
        data: m.getParams([n])[n].data.map(() => 0.1 * gaussian(rand)),
      };
  m.setParams(upd);
  return m;
}

function maxRelDiff(a: Float32Array, b: Float32Array): number {
  let num = 0;
  let den = 0;
  for (let i = 0; i < a.length; i++) {
    num = Math.max(num, Math.abs(a[i] - b[i]));
    den = Math.max(den, Math.abs(b[i]));
  }
  return num / den;
}

describe('micro-batched gradients', () => {
  // Measured on wasm: loss 1.1e-7, max |diff| / max |g| 7.4e-7 (float32 summation order only).
  const TOL = 1e-5;

  it('a batch of 16 as 8 x 2 equals one batch of 16 (loss and every trained gradient)', () => {
    const m = liveModel();
    const batch = encodeBatch(toySamples(16, 3), m);
    const names = m.trainableParamNames(['block1.adapter', 'block4.adapter']);
    const before = tf.memory().numTensors;
    const one = lossAndGrads(m, batch, names);
    const micro = microBatchedLossAndGrads(m, batch, names, {}, { microBatch: 2 });
    expect(micro.microBatch).toBe(2);
    const l1 = one.loss.dataSync()[0];
    const l2 = micro.loss.dataSync()[0];
    expect(Math.abs(l1 - l2) / Math.abs(l1)).toBeLessThan(TOL);
    let worst = 0;
    for (const n of names) {
      const r = maxRelDiff(
        micro.grads[n].dataSync() as Float32Array,
        one.grads[n].dataSync() as Float32Array,
      );
      worst = Math.max(worst, r);
    }
    console.log(
      `micro-batch 8 x 2 vs 16: loss rel ${Math.abs(l1 - l2) / l1}, grads max rel ${worst}`,
    );
    expect(worst).toBeLessThan(TOL);
    tf.dispose([one.loss, micro.loss, ...Object.values(one.grads), ...Object.values(micro.grads)]);
    expect(tf.memory().numTensors).toBe(before);
    disposeBatch(batch);
    m.dispose();
  });

  it('handles a last micro-batch smaller than the others and a frozen prefix', () => {
    const m = liveModel();
    const batch = encodeBatch(toySamples(7, 4), m);
    const names = m.trainableParamNames(['block3.adapter']);
    const prefix = m.forwardPrefix(batch, 3);
    const one = lossAndGrads(m, batch, names, {}, { prefix });
    const micro = microBatchedLossAndGrads(m, batch, names, {}, { prefix, microBatch: 3 });
    expect(Math.abs(one.loss.dataSync()[0] - micro.loss.dataSync()[0])).toBeLessThan(1e-5);
    for (const n of names)
      expect(
        maxRelDiff(
          micro.grads[n].dataSync() as Float32Array,
          one.grads[n].dataSync() as Float32Array,
        ),
      ).toBeLessThan(TOL);
    tf.dispose([one.loss, micro.loss, ...Object.values(one.grads), ...Object.values(micro.grads)]);
    tf.dispose([prefix.state.x, prefix.state.bias]);
    disposeBatch(batch);
    m.dispose();
  });

  it('trainLayers with microBatchSize 2 gives the same deltas as one pass per step', async () => {
    const samples = toySamples(12, 6);
    const run = async (microBatchSize: number | 'auto') => {
      const m = liveModel();
      const r = await trainLayers(m, samples, {
        layers: ['block2.adapter', 'block5.adapter'],
        steps: 3,
        batchSize: 8,
        lr: 1e-3,
        seed: 1,
        microBatchSize,
      });
      m.dispose();
      return r.deltas;
    };
    const a = await run(2);
    const b = await run('auto');
    for (const n of Object.keys(b)) expect(maxRelDiff(a[n].data, b[n].data)).toBeLessThan(1e-3);
  });

  it('rejects a bad micro-batch size by name', () => {
    const m = liveModel();
    const batch = encodeBatch(toySamples(4, 1), m);
    expect(() =>
      microBatchedLossAndGrads(m, batch, m.trainableParamNames([]), {}, { microBatch: 0 }),
    ).toThrow(/microBatch must be a positive integer/);
    disposeBatch(batch);
    m.dispose();
  });
});

describe('evaluation in chunks', () => {
  it('chunks of 3 give the accuracy, loss and per-type counts of one pass', async () => {
    const m = liveModel();
    const samples = toySamples(10, 8);
    const one = await evaluate(m, samples, { batchSize: 10 });
    const chunked = await evaluate(m, samples, { batchSize: 3 });
    expect(chunked.accuracy).toBe(one.accuracy);
    expect(chunked.perType).toEqual(one.perType);
    expect(Math.abs(chunked.loss - one.loss) / one.loss).toBeLessThan(1e-6);
    await expect(evaluate(m, samples, { batchSize: 0 })).rejects.toThrow(/batchSize must be/);
    m.dispose();
  });
});

describe('memory budget', () => {
  it('the probe measures what a pass takes: it predicts a 6-block pass within a factor 1.5', async () => {
    const m = liveModel();
    const perBlock = await probeActivationBytes(m);
    expect(measuredActivationBytes(m.config)).toBe(perBlock);
    const names = m.trainableParamNames(['block0.adapter']);
    const peak = async (n: number) => {
      const batch = encodeBatch(toySamples(n, 1), m);
      const info = await tf.profile(() => {
        const r = lossAndGrads(m, batch, names);
        tf.dispose([r.loss, ...Object.values(r.grads)]);
      });
      disposeBatch(batch);
      return info.peakBytes;
    };
    await peak(1);
    const perSampleAll = ((await peak(5)) - (await peak(1))) / 4;
    const ratio = perSampleAll / (6 * perBlock);
    console.log(
      `probe: ${perBlock} B per sample-block; 6-block pass ${perSampleAll} B per sample (ratio ${ratio.toFixed(2)}); estimate ${4 * activationFloatsPerSample(m.config).perBlock}`,
    );
    expect(ratio).toBeGreaterThan(1 / 1.5);
    expect(ratio).toBeLessThan(1.5);
    // autoMicroBatchSize now uses the measured figure.
    const limits = { backend: 'wasm', budgetBytes: 10.5 * 6 * perBlock, maxBufferBytes: Infinity };
    expect(autoMicroBatchSize(m.config, 6, limits)).toBe(10);
    m.dispose();
  });

  it('fits micro-batches to the budget and to the largest bindable buffer', () => {
    const m = createModel('tiny', { seed: 0, answers: TOY_ANSWERS });
    const { perBlock, largestTensor } = activationFloatsPerSample(m.config);
    const perSample = 4 * perBlock * 6;
    expect(
      autoMicroBatchSize(m.config, 6, {
        backend: 'x',
        budgetBytes: 5.5 * perSample,
        maxBufferBytes: Infinity,
      }),
    ).toBe(5);
    expect(
      autoMicroBatchSize(m.config, 6, {
        backend: 'webgpu',
        budgetBytes: 1e12,
        maxBufferBytes: 3 * 4 * largestTensor,
      }),
    ).toBe(3);
    // Never below one sample.
    expect(
      autoMicroBatchSize(m.config, 6, { backend: 'x', budgetBytes: 1, maxBufferBytes: 1 }),
    ).toBe(1);
    m.dispose();
  });

  it('the wasm budget is a share of the 4 GiB heap left, at most 512 MiB; forced limits win', () => {
    const l = backendLimits();
    expect(l.backend).toBe('wasm');
    expect(l.budgetBytes).toBe(DEFAULT_BUDGET_BYTES);
    setBackendLimits({ budgetBytes: 1234 });
    expect(backendLimits().budgetBytes).toBe(1234);
  });

  it('vilt-b32 early blocks on the wasm heap need micro-batches of one', () => {
    const vilt = resolveConfig('vilt-b32');
    const limits = { backend: 'wasm', budgetBytes: DEFAULT_BUDGET_BYTES, maxBufferBytes: Infinity };
    expect(autoMicroBatchSize(vilt, 12, limits)).toBe(1);
    expect(autoMicroBatchSize(vilt, 2, limits)).toBe(2);
    // Inference (one block at a time, no tape) takes chunks of several samples.
    expect(autoMicroBatchSize(vilt, 1, limits, { backward: false })).toBeGreaterThanOrEqual(8);
  });
});
