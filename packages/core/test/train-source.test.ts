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
