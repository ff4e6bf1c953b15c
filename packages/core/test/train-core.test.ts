import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { createModel, resolveConfig } from '../src/model/index.js';
import { initNodeBackend } from '../src/node/index.js';
import { evaluate, majorityBaseline, trainLayers } from '../src/train/index.js';
import { TOY_ANSWERS, toySamples } from './model-helpers.js';

beforeAll(async () => {
  await initNodeBackend('wasm');
});

const small = resolveConfig('tiny', { numLayers: 3 });

describe('trainLayers', () => {
  it('changes only the chosen adapters and the head; frozen tensors stay bit-identical', async () => {
    const m = createModel(small, { seed: 2, answers: TOY_ANSWERS });
    const before = m.getParams();
    const { deltas, metrics } = await trainLayers(m, toySamples(24, 1), {
      layers: ['block1.adapter'],
      steps: 3,
      batchSize: 8,
      seed: 1,
    });
    const after = m.getParams();
    const expected = [...m.paramNames('block1.adapter'), ...m.paramNames('head')];
    expect(Object.keys(deltas).sort()).toEqual(expected.sort());
    for (const name of Object.keys(before)) {
      const same = before[name].data.every((v, i) => Object.is(v, after[name].data[i]));
      if (expected.includes(name)) {
        expect(same, name).toBe(false);
        const d = deltas[name].data;
        after[name].data.forEach((v, i) => expect(v - before[name].data[i]).toBeCloseTo(d[i], 6));
      } else {
        expect(same, name).toBe(true);
      }
    }
    expect(metrics.steps).toBe(3);
    expect(metrics.trainedParams).toBe(expected.reduce((a, n) => a + before[n].data.length, 0));
  });

  it('does not grow tf.memory().numTensors across steps or calls', async () => {
    const m = createModel(small, { seed: 2, answers: TOY_ANSWERS });
    const samples = toySamples(16, 2);
    await trainLayers(m, samples, { layers: ['block0.adapter'], steps: 1, batchSize: 8, seed: 1 });
    const start = tf.memory().numTensors;
    const perStep: number[] = [];
    await trainLayers(m, samples, {
      layers: ['block0.adapter', 'block2.adapter'],
      steps: 4,
      batchSize: 8,
      seed: 3,
      onProgress: () => void perStep.push(tf.memory().numTensors),
    });
    expect(new Set(perStep).size).toBe(1);
    expect(tf.memory().numTensors).toBe(start);
    await evaluate(m, samples);
    expect(tf.memory().numTensors).toBe(start);
  });

  it('is reproducible from the seed', async () => {
    const run = async () => {
      const m = createModel(small, { seed: 5, answers: TOY_ANSWERS });
      const r = await trainLayers(m, toySamples(16, 4), {
        layers: ['block2.adapter'],
        steps: 3,
        batchSize: 4,
        seed: 9,
      });
      m.dispose();
      return r.deltas['block2.adapter/up_kernel'].data;
    };
    expect(await run()).toEqual(await run());
  });

  it('learns a toy task well above the majority baseline', async () => {
    const m = createModel(small, { seed: 1, answers: TOY_ANSWERS });
    const train = toySamples(60, 1);
    const test = toySamples(30, 2);
    const r = await trainLayers(m, train, {
      layers: m.layerNames(),
      steps: 40,
      batchSize: 16,
      lr: 3e-3,
      seed: 1,
    });
    const ev = await evaluate(m, test);
    expect(r.metrics.finalLoss).toBeLessThan(r.metrics.meanLoss);
    expect(ev.accuracy).toBeGreaterThan(majorityBaseline(train, test).accuracy + 0.3);
    expect(ev.perType.position.n).toBe(30);
  });

  it('rejects bad options with errors naming the field', async () => {
    const m = createModel(small, { seed: 1, answers: TOY_ANSWERS });
    const s = toySamples(4, 1);
    await expect(
      trainLayers(m, s, { layers: ['block7.adapter'], steps: 1, seed: 1 }),
    ).rejects.toThrow(/unknown trainable layer "block7.adapter"/);
    await expect(trainLayers(m, s, { layers: [], seed: 1 })).rejects.toThrow(
      /exactly one of steps or epochs/,
    );
    await expect(trainLayers(m, s, { layers: [], steps: 0, seed: 1 })).rejects.toThrow(
      /steps must be a positive integer/,
    );
    await expect(trainLayers(m, [], { layers: [], steps: 1, seed: 1 })).rejects.toThrow(
      /samples is empty/,
    );
  });
});
