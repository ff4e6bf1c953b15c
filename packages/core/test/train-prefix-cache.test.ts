// The frozen-prefix cache (train/step-batches.ts) must be exact: the trained deltas are the
// same bits whether the frozen blocks' activations come from the per-call cache, are
// recomputed every step, or are recorded on the tape; and it must not leak tensors.
import * as tf from '@tensorflow/tfjs';
import { afterAll, describe, expect, it } from 'vitest';
import { createModel, resolveConfig } from '../src/model/index.js';
import { initNodeBackend } from '../src/node/index.js';
import { prefixCacheBytes, trainLayers, type TrainOptions } from '../src/train/index.js';
import type { NamedArrays } from '../src/tensors/named.js';
import { TOY_ANSWERS, toySamples } from './model-helpers.js';

const small = resolveConfig('tiny', { numLayers: 3 });
// 21 samples, batch 8: steps mix a short last batch and cross epochs (reshuffles).
const samples = toySamples(21, 7);

async function deltas(extra: Partial<TrainOptions>, layers: string[]) {
  const m = createModel(small, { seed: 3, answers: TOY_ANSWERS });
  const r = await trainLayers(m, samples, {
    layers,
    steps: 7,
    batchSize: 8,
    lr: 3e-3,
    seed: 11,
    ...extra,
  });
  m.dispose();
  return r;
}

function expectSameBits(a: NamedArrays, b: NamedArrays): void {
  expect(Object.keys(a).sort()).toEqual(Object.keys(b).sort());
  for (const n of Object.keys(a)) {
    const x = new Uint32Array(a[n].data.buffer);
    const y = new Uint32Array(b[n].data.buffer);
    const firstDiff = x.findIndex((v, i) => v !== y[i]);
    expect(firstDiff, `${n}: first differing element`).toBe(-1);
  }
}

afterAll(async () => {
  await initNodeBackend('wasm');
});

describe.each(['wasm', 'cpu'] as const)('frozen-prefix cache on %s', (backend) => {
  const selections: [string, string[]][] = [
    ['late block', ['block2.adapter']],
    ['middle + late', ['block1.adapter', 'block2.adapter']],
    ['head only', []],
  ];
  it.each(selections)('%s: deltas bit-identical with and without the cache', async (_, layers) => {
    await initNodeBackend(backend);
    const cached = await deltas({}, layers);
    const perStep = await deltas({ prefixCacheBytes: 0 }, layers);
    const onTape = await deltas({ frozenPrefix: false }, layers);
    expect(cached.metrics.prefixCached).toBe(true);
    expect(perStep.metrics.prefixCached).toBe(false);
    expect(onTape.metrics.prefixCached).toBe(false);
    expect(cached.metrics.meanLoss).toBe(perStep.metrics.meanLoss);
    expectSameBits(cached.deltas, perStep.deltas);
    expectSameBits(cached.deltas, onTape.deltas);
    // Something was trained (a vacuous comparison of zeros would prove nothing).
    expect(cached.deltas['head/kernel'].data.some((v) => v !== 0)).toBe(true);
  });
});

describe('frozen-prefix cache bounds and memory', () => {
  it('falls back to per-step prefixes above the byte cap, with the same result', async () => {
    await initNodeBackend('wasm');
    const m = createModel(small, { seed: 3, answers: TOY_ANSWERS });
    const need = prefixCacheBytes(m, samples.length);
    m.dispose();
    const fits = await deltas({ prefixCacheBytes: need }, ['block2.adapter']);
    const over = await deltas({ prefixCacheBytes: need - 1 }, ['block2.adapter']);
    expect(fits.metrics.prefixCached).toBe(true);
    expect(over.metrics.prefixCached).toBe(false);
    expectSameBits(fits.deltas, over.deltas);
    await expect(deltas({ prefixCacheBytes: -1 }, ['block2.adapter'])).rejects.toThrow(
      /prefixCacheBytes must be >= 0/,
    );
  });

  it('leaks no tensor across steps or rounds with the cache', async () => {
    await initNodeBackend('wasm');
    const m = createModel(small, { seed: 3, answers: TOY_ANSWERS });
    const opts = { steps: 4, batchSize: 8, seed: 1 };
    await trainLayers(m, samples, { ...opts, layers: ['block1.adapter'] });
    const start = tf.memory().numTensors;
    for (const [round, layers] of [['block1.adapter'], ['block2.adapter'], []].entries()) {
      const perStep: number[] = [];
      const r = await trainLayers(m, samples, {
        ...opts,
        seed: round,
        layers,
        onProgress: () => void perStep.push(tf.memory().numTensors),
      });
      expect(r.metrics.prefixCached).toBe(true);
      expect(new Set(perStep).size, `round ${round}: tensors per step ${perStep}`).toBe(1);
      expect(tf.memory().numTensors, `after round ${round}`).toBe(start);
    }
    m.dispose();
  });
});
