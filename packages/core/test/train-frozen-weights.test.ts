// train/frozen-weights.ts: the dequantized copies of an int8 model's frozen weights give the
// same loss and gradients, bit for bit, as dequantizing at every pass; the word table, the
// blocks before the prefix and anything over the bound are left out.
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { createModel, disposeBatch, encodeBatch, resolveConfig } from '../src/model/index.js';
import { initNodeBackend } from '../src/node/index.js';
import { lossAndGrads } from '../src/train/grads.js';
import { dequantizedFrozen } from '../src/train/frozen-weights.js';
import { TOY_ANSWERS, toySamples } from './model-helpers.js';

beforeAll(async () => {
  await initNodeBackend('wasm');
});

const bits = (t: tf.Tensor) =>
  Array.from(new Uint32Array((t.dataSync() as Float32Array).slice().buffer));

describe('dequantized frozen weights', () => {
  it('give the same loss and gradients bit for bit; leave out what is not read', () => {
    const m = createModel(resolveConfig('tiny', { numLayers: 3 }), {
      seed: 5,
      answers: TOY_ANSWERS,
    });
    m.quantizeFrozen();
    const batch = encodeBatch(toySamples(6, 2), { config: m.config, answers: m.answers });
    const names = m.trainableParamNames(m.layerNames());
    const frozen = dequantizedFrozen(m, 0);
    const keys = Object.keys(frozen);
    expect(keys.length).toBeGreaterThan(10);
    expect(keys).toContain('block0/q_kernel');
    expect(keys).not.toContain('text_embed/word');
    expect(keys.every((k) => m.int8ParamNames().includes(k))).toBe(true);
    const a = lossAndGrads(m, batch, names);
    const b = lossAndGrads(m, batch, names, {}, { frozen });
    expect(bits(b.loss)).toEqual(bits(a.loss));
    for (const n of names) expect(bits(b.grads[n]), n).toEqual(bits(a.grads[n]));
    tf.dispose([a.loss, b.loss, ...Object.values(a.grads), ...Object.values(b.grads)]);
    tf.dispose(Object.values(frozen));
    // From block 2 on: no embedding, no block 0 or 1 weights.
    const late = dequantizedFrozen(m, 2);
    expect(Object.keys(late).some((k) => /^block[01]\//.test(k) || k.includes('embed'))).toBe(
      false,
    );
    expect(Object.keys(late)).toContain('block2/mlp1_kernel');
    tf.dispose(Object.values(late));
    // Over the bound: nothing (the just-in-time path).
    expect(dequantizedFrozen(m, 0, 1024)).toEqual({});
    disposeBatch(batch);
    m.dispose();
  });
});
