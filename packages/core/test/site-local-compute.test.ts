import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { createModel, resolveConfig } from '../src/model/index.js';
import { initNodeBackend } from '../src/node/index.js';
import { ModelCompute } from '../src/site/index.js';
import { SCORER_METHODS } from '../src/importance/methods.js';
import { weightedEvaluation } from '../src/federated/strategy.js';
import { TOY_ANSWERS, toySamples } from './model-helpers.js';
import type { VqaSample } from '../src/data/types.js';
import type { NamedArrays } from '../src/tensors/named.js';

beforeAll(async () => {
  await initNodeBackend('wasm');
});

const small = resolveConfig('tiny', { numLayers: 3 });
const data = () => ({
  train: toySamples(24, 1) as VqaSample[],
  test: toySamples(9, 2) as VqaSample[],
});
const CONFIG = { round: 1, steps: 2, batchSize: 4, lr: 1e-3, weightDecay: 0.01, seed: 7 };

/** Bit-identical named params (a byte compare: deep equality of big typed arrays is slow). */
function expectSameParams(a: NamedArrays, b: NamedArrays): void {
  expect(Object.keys(a).sort()).toEqual(Object.keys(b).sort());
  for (const k of Object.keys(a)) {
    const x = Buffer.from(a[k].data.buffer, a[k].data.byteOffset, a[k].data.byteLength);
    const y = Buffer.from(b[k].data.buffer, b[k].data.byteOffset, b[k].data.byteLength);
    expect(x.equals(y), k).toBe(true);
  }
}

function trainable(c: ModelCompute): NamedArrays {
  return c.model.getParams(c.model.trainableParamNames(c.model.layerNames()));
}

function compute() {
  const model = createModel(small, { seed: 3, answers: TOY_ANSWERS });
  return new ModelCompute({ model, ...data(), lntkSamples: 8 });
}

describe('ModelCompute (the one LocalCompute of a site)', () => {
  it('scores every method by name, in the order asked, deterministic in the round seed', async () => {
    const c = compute();
    const layers = [...c.model.layerNames()].reverse();
    for (const method of [...SCORER_METHODS, 'none'] as const) {
      const req = { method, round: 1, seed: 11, layers };
      const a = await c.computeScores(req);
      expect(a.layers).toEqual(layers);
      expect(a.scores).toHaveLength(layers.length);
      expect(a.scores.every(Number.isFinite)).toBe(true);
      expect((await c.computeScores(req)).scores).toEqual(a.scores);
    }
    const r1 = await c.computeScores({ method: 'random', round: 1, seed: 11, layers });
    const r2 = await c.computeScores({ method: 'random', round: 1, seed: 12, layers });
    expect(r1.scores).not.toEqual(r2.scores);
    await expect(
      c.computeScores({ method: 'lntk', round: 1, seed: 1, layers: ['blockX.adapter'] }),
    ).rejects.toThrow(/the model has no layer "blockX.adapter"/);
    c.model.dispose();
  });

  it('fedselect scores a short probe training and leaves the weights as they were', async () => {
    const c = compute();
    const before = trainable(c);
    const s = await c.computeScores({
      method: 'fedselect',
      round: 2,
      seed: 5,
      layers: c.model.layerNames(),
    });
    expect(s.scores.some((x) => x > 0)).toBe(true);
    expectSameParams(trainable(c), before);
    c.model.dispose();
  });

  it('train returns deltas of the layers + head and restores the weights, also on failure', async () => {
    const c = compute();
    const before = trainable(c);
    const tensors = tf.memory().numTensors;
    const layer = c.model.layerNames()[1];
    const res = await c.train([layer], CONFIG);
    expect(new Set(Object.keys(res.deltas).map((n) => n.split('/')[0]))).toEqual(
      new Set([layer, 'head']),
    );
    expectSameParams(trainable(c), before);
    // same round config, same result (seeds come from the config only)
    expectSameParams((await c.train([layer], CONFIG)).deltas, res.deltas);
    // A failure mid-training (after the first step changed the weights) still restores them.
    const boom = (done: number) => {
      if (done >= 1) throw new Error('tab closed');
    };
    await expect(c.train([layer], CONFIG, boom)).rejects.toThrow(/tab closed/);
    expectSameParams(trainable(c), before);
    expect(tf.memory().numTensors).toBe(tensors);
    c.model.dispose();
  });

  it('evaluate reports the held-out split', async () => {
    const c = compute();
    const ev = await c.evaluate();
    expect(ev.numSamples).toBe(9);
    expect(ev.accuracy).toBeGreaterThanOrEqual(0);
    c.model.dispose();
  });
});

describe('weightedEvaluation', () => {
  it('is the sample-weighted mean; null without reports', () => {
    expect(
      weightedEvaluation([
        { client: 'a', accuracy: 1, loss: 0, numSamples: 30 },
        { client: 'b', accuracy: 0, loss: 2, numSamples: 10 },
      ]),
    ).toEqual({ accuracy: 0.75, loss: 0.5 });
    expect(weightedEvaluation([])).toEqual({ accuracy: null, loss: null });
  });
});
