// The frozen-prefix cache (train/step-batches.ts) must be exact: the trained deltas are the
// same bits whether the frozen blocks' activations come from the per-call cache (whole or
// partial), are recomputed every step, or are recorded on the tape; it computes each drawn
// sample once, and it must not leak tensors.
import * as tf from '@tensorflow/tfjs';
import { afterAll, describe, expect, it } from 'vitest';
import { createModel, disposeBatch, encodeBatch, resolveConfig } from '../src/model/index.js';
import { initNodeBackend } from '../src/node/index.js';
import {
  prefixCacheBytes,
  stepBatchSource,
  trainLayers,
  type TrainOptions,
} from '../src/train/index.js';
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

const selections: [string, string[]][] = [
  ['late block', ['block2.adapter']],
  ['middle + late', ['block1.adapter', 'block2.adapter']],
  ['head only', []],
];
// Every selection on wasm (XNNPACK products); one on cpu (plain JS kernels), which is slow.
const cases = [
  ...selections.map(([label, layers]) => ['wasm', label, layers] as const),
  ['cpu', ...selections[1]] as const,
];

describe('frozen-prefix cache', () => {
  it.each(cases)(
    '%s, %s: deltas bit-identical with and without the cache',
    async (backend, _, layers) => {
      await initNodeBackend(backend);
      const cached = await deltas({}, [...layers]);
      const perStep = await deltas({ prefixCacheBytes: 0 }, [...layers]);
      const onTape = await deltas({ frozenPrefix: false }, [...layers]);
      expect(cached.metrics.prefixCached).toBe(true);
      expect(perStep.metrics.prefixCached).toBe(false);
      expect(onTape.metrics.prefixCached).toBe(false);
      expect(cached.metrics.meanLoss).toBe(perStep.metrics.meanLoss);
      expectSameBits(cached.deltas, perStep.deltas);
      expectSameBits(cached.deltas, onTape.deltas);
      // Something was trained (a vacuous comparison of zeros would prove nothing).
      expect(cached.deltas['head/kernel'].data.some((v) => v !== 0)).toBe(true);
    },
  );
});

describe('frozen-prefix cache bounds and memory', () => {
  it('computes each drawn sample once; a cap below one sample turns it off', async () => {
    await initNodeBackend('wasm');
    const m = createModel(small, { seed: 3, answers: TOY_ANSWERS });
    const all = encodeBatch(samples, m);
    const src = stepBatchSource(m, all, { fromBlock: 2, cacheBytes: 2 ** 30 });
    for (const idx of [
      [0, 1, 2],
      [2, 3],
      [0, 3, 4],
    ])
      src.take(idx).dispose();
    expect(src.stats).toEqual({ hits: 3, misses: 5 });
    expect(src.cacheBytes).toBe(prefixCacheBytes(m, 5));
    src.dispose();
    const off = stepBatchSource(m, all, { fromBlock: 2, cacheBytes: prefixCacheBytes(m, 1) - 1 });
    expect(off.cached).toBe(false);
    off.take([0, 1]).dispose();
    off.take([0, 1]).dispose();
    expect(off.stats).toEqual({ hits: 0, misses: 4 });
    disposeBatch(all);
    m.dispose();
  });

  it('a partial cache (cap below the data) gives the same bits', async () => {
    await initNodeBackend('wasm');
    const m = createModel(small, { seed: 3, answers: TOY_ANSWERS });
    const room = prefixCacheBytes(m, 5);
    m.dispose();
    const full = await deltas({}, ['block2.adapter']);
    const partial = await deltas({ prefixCacheBytes: room }, ['block2.adapter']);
    expect(partial.metrics.prefixCached).toBe(true);
    expectSameBits(full.deltas, partial.deltas);
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
