// Training from a SampleSource (a site's IndexedDB store) is the same training as from an
// in-memory array, while reading one minibatch at a time.
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { arraySource, chunksOf, type SampleSource } from '../src/data/index.js';
import type { SampleLike } from '../src/model/batch.js';
import { createModel, resolveConfig } from '../src/model/index.js';
import { initNodeBackend } from '../src/node/index.js';
import { evaluate, evaluateSource, trainLayers } from '../src/train/index.js';
import { TOY_ANSWERS, toySamples } from './model-helpers.js';
import { ModelCompute } from '../src/site/index.js';
import type { VqaSample } from '../src/data/index.js';

beforeAll(async () => {
  await initNodeBackend('wasm');
});

const small = resolveConfig('tiny', { numLayers: 3 });

/** A source that records how many samples each read asked for. */
function counted(samples: SampleLike[]): SampleSource<SampleLike> & { reads: number[] } {
  const inner = arraySource(samples);
  const reads: number[] = [];
  return {
    length: inner.length,
    reads,
    read: (idx) => {
      reads.push(idx.length);
      return inner.read(idx);
    },
  };
}

describe('trainLayers from a SampleSource', () => {
  it('gives bit-identical deltas to the array path, reading one batch at a time', async () => {
    const samples = toySamples(40, 3);
    const opts = { layers: ['block1.adapter'], steps: 7, batchSize: 8, seed: 5 };
    const a = createModel(small, { seed: 2, answers: TOY_ANSWERS });
    const b = createModel(small, { seed: 2, answers: TOY_ANSWERS });
    const fromArray = await trainLayers(a, samples, opts);
    const src = counted(samples);
    const tensorsBefore = tf.memory().numTensors;
    const fromSource = await trainLayers(b, src, opts);
    expect(tf.memory().numTensors).toBe(tensorsBefore);
    for (const [k, v] of Object.entries(fromArray.deltas)) {
      expect(
        Buffer.from(fromSource.deltas[k].data.buffer).equals(Buffer.from(v.data.buffer)),
        k,
      ).toBe(true);
    }
    expect(fromSource.metrics.meanLoss).toBe(fromArray.metrics.meanLoss);
    // Never more than one minibatch per read; 7 steps -> 7 batches used (reads ahead included).
    expect(Math.max(...src.reads)).toBeLessThanOrEqual(8);
    expect(src.reads.reduce((x, y) => x + y, 0)).toBeLessThanOrEqual(8 * 8);
    a.dispose();
    b.dispose();
  });

  it('a failing read surfaces as the training error', async () => {
    const m = createModel(small, { seed: 2, answers: TOY_ANSWERS });
    const bad: SampleSource<SampleLike> = {
      length: 10,
      read: async () => {
        throw new Error('IndexedDB read failed');
      },
    };
    await expect(
      trainLayers(m, bad, { layers: [], steps: 1, batchSize: 4, seed: 1 }),
    ).rejects.toThrow(/IndexedDB read failed/);
    m.dispose();
  });
});

describe('ModelCompute over IndexedDB-like sources', () => {
  it('scores (lntk, fedselect), trains and evaluates exactly as over arrays', async () => {
    const train = toySamples(60, 1) as unknown as VqaSample[];
    const test = toySamples(30, 2) as unknown as VqaSample[];
    const a = createModel(small, { seed: 3, answers: TOY_ANSWERS });
    const b = createModel(small, { seed: 3, answers: TOY_ANSWERS });
    const onArrays = new ModelCompute({ model: a, train, test });
    const trainSrc = counted(
      train as unknown as SampleLike[],
    ) as unknown as SampleSource<VqaSample>;
    const onSources = new ModelCompute({ model: b, train: trainSrc, test: arraySource(test) });
    const layers = a.layerNames();
    for (const method of ['lntk', 'fedselect'] as const) {
      const req = { method, round: 2, seed: 9, layers };
      expect(await onSources.computeScores(req), method).toEqual(await onArrays.computeScores(req));
    }
    // Scoring read the 16 picked samples and fedselect's probe minibatches, never the split.
    expect(Math.max(...(trainSrc as unknown as { reads: number[] }).reads)).toBeLessThanOrEqual(16);
    const cfg = { round: 2, steps: 3, batchSize: 8, lr: 1e-3, weightDecay: 0.01, seed: 4 };
    const ta = await onArrays.train(layers.slice(-1), cfg);
    const tb = await onSources.train(layers.slice(-1), cfg);
    // stepMs is wall-clock time, the one metric that may differ between the two runs.
    const { stepMs: _a, ...ma } = ta.metrics;
    const { stepMs: _b, ...mb } = tb.metrics;
    expect(mb).toEqual(ma);
    for (const [k, v] of Object.entries(ta.deltas))
      expect(Buffer.from(tb.deltas[k].data.buffer).equals(Buffer.from(v.data.buffer)), k).toBe(
        true,
      );
    const ea = await onArrays.evaluate();
    const eb = await onSources.evaluate();
    expect(eb.accuracy).toBe(ea.accuracy);
    expect(eb.loss).toBeCloseTo(ea.loss, 5);
    a.dispose();
    b.dispose();
  });
});

describe('evaluateSource', () => {
  it('matches evaluate on the whole array, reading in chunks', async () => {
    const m = createModel(small, { seed: 4, answers: TOY_ANSWERS });
    const samples = toySamples(50, 8);
    const whole = await evaluate(m, samples);
    const src = counted(samples);
    const chunked = await evaluateSource(m, src, { chunk: 16 });
    expect(chunked.n).toBe(50);
    expect(chunked.accuracy).toBe(whole.accuracy);
    expect(chunked.loss).toBeCloseTo(whole.loss, 5);
    expect(chunked.perType).toEqual(whole.perType);
    expect(Math.max(...src.reads)).toBe(16);
    m.dispose();
  });
});

describe('chunksOf', () => {
  it('yields every sample once, in order, in chunks', async () => {
    const src = arraySource(Array.from({ length: 10 }, (_, i) => i));
    const got: number[][] = [];
    for await (const c of chunksOf(src, 4)) got.push(c);
    expect(got).toEqual([
      [0, 1, 2, 3],
      [4, 5, 6, 7],
      [8, 9],
    ]);
    const limited: number[] = [];
    for await (const c of chunksOf(src, 4, 6)) limited.push(...c);
    expect(limited).toEqual([0, 1, 2, 3, 4, 5]);
    await expect(arraySource([1]).read([1])).rejects.toThrow(/outside 0..0/);
  });
});
