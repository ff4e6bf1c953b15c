import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  createModel,
  encodeBatch,
  disposeBatch,
  PRESETS,
  resolveConfig,
} from '../src/model/index.js';
import { initNodeBackend } from '../src/node/index.js';
import { TOY_ANSWERS, toySamples } from './model-helpers.js';

beforeAll(async () => {
  await initNodeBackend('wasm');
});

describe('tiny model', () => {
  it('names trainable layers in forward order and exposes param names', () => {
    const m = createModel('tiny', { seed: 1, answers: TOY_ANSWERS });
    expect(m.layerNames()).toEqual(
      Array.from({ length: PRESETS.tiny.numLayers }, (_, i) => `block${i}.adapter`),
    );
    expect(m.paramNames('block3.adapter')).toEqual([
      'block3.adapter/down_kernel',
      'block3.adapter/down_bias',
      'block3.adapter/up_kernel',
      'block3.adapter/up_bias',
    ]);
    expect(m.paramNames('head')).toEqual(['head/kernel', 'head/bias']);
    expect(() => m.paramNames('block9.adapter')).toThrow(/unknown layer "block9.adapter"/);
    m.dispose();
  });

  it('is deterministic in the seed and differs across seeds', () => {
    const a = createModel('tiny', { seed: 7 }).getParams(['block0/q_kernel']);
    const b = createModel('tiny', { seed: 7 }).getParams(['block0/q_kernel']);
    const c = createModel('tiny', { seed: 8 }).getParams(['block0/q_kernel']);
    expect(a['block0/q_kernel'].data).toEqual(b['block0/q_kernel'].data);
    expect(a['block0/q_kernel'].data).not.toEqual(c['block0/q_kernel'].data);
  });

  it('apply gives [n, numAnswers] logits and leaks nothing', () => {
    const m = createModel('tiny', { seed: 1, answers: TOY_ANSWERS });
    const batch = encodeBatch(toySamples(5, 1), m);
    expect(batch.images.shape).toEqual([5, 28, 28, 3]);
    expect(batch.tokens.shape).toEqual([5, PRESETS.tiny.maxTextLen]);
    expect(batch.tokens.dtype).toBe('int32');
    const before = tf.memory().numTensors;
    const logits = tf.tidy(() => m.apply({}, batch));
    expect(logits.shape).toEqual([5, 3]);
    expect(Array.from(logits.dataSync()).every(Number.isFinite)).toBe(true);
    logits.dispose();
    expect(tf.memory().numTensors).toBe(before);
    disposeBatch(batch);
    m.dispose();
  });

  it('params passed to apply override the model tensors by name', () => {
    const m = createModel('tiny', { seed: 1, answers: TOY_ANSWERS });
    const batch = encodeBatch(toySamples(2, 1), m);
    const [base, over] = tf.tidy(() => {
      const zeroHead = tf.zeros(m.tensor('head/kernel').shape);
      const bias = tf.tensor1d([1, 2, 3]);
      return [m.apply({}, batch), m.apply({ 'head/kernel': zeroHead, 'head/bias': bias }, batch)];
    });
    expect(Array.from(over.dataSync())).toEqual([1, 2, 3, 1, 2, 3]);
    expect(Array.from(base.dataSync())).not.toEqual([1, 2, 3, 1, 2, 3]);
    tf.dispose([base, over]);
    disposeBatch(batch);
    m.dispose();
  });

  it('adapters start as the identity (zero up-projection)', () => {
    const m = createModel('tiny', { seed: 1, answers: TOY_ANSWERS });
    const batch = encodeBatch(toySamples(3, 2), m);
    const down = m.getParams(['block2.adapter/down_kernel']);
    const [a, b] = tf.tidy(() => [
      m.apply({}, batch),
      m.apply(
        {
          'block2.adapter/down_kernel': tf.randomNormal(
            down['block2.adapter/down_kernel'].shape,
            0,
            1,
            'float32',
            3,
          ),
        },
        batch,
      ),
    ]);
    expect(Array.from(b.dataSync())).toEqual(Array.from(a.dataSync()));
    tf.dispose([a, b]);
    disposeBatch(batch);
  });

  it('frozen prefix gives the same logits as the full forward pass', () => {
    const m = createModel('tiny', { seed: 3, answers: TOY_ANSWERS });
    const batch = encodeBatch(toySamples(4, 3), m);
    const prefix = m.forwardPrefix(batch, 4);
    const [full, fromPrefix] = tf.tidy(() => [m.apply({}, batch), m.apply({}, batch, { prefix })]);
    const d = Math.max(...Array.from(tf.sub(full, fromPrefix).abs().dataSync()));
    expect(d).toBeLessThan(1e-6);
    tf.dispose([full, fromPrefix, prefix.state.x, prefix.state.bias]);
    disposeBatch(batch);
  });

  it('setParams validates names and shapes before changing anything', () => {
    const m = createModel('tiny', { seed: 1, answers: TOY_ANSWERS });
    const before = m.getParams(['head/bias']);
    expect(() =>
      m.setParams({
        'head/bias': { shape: [3], data: new Float32Array([1, 2, 3]) },
        'nope/x': { shape: [1], data: new Float32Array(1) },
      }),
    ).toThrow(/unknown parameter "nope\/x"/);
    expect(m.getParams(['head/bias'])).toEqual(before);
    expect(() => m.setParams({ 'head/bias': { shape: [4], data: new Float32Array(4) } })).toThrow(
      /"head\/bias" has shape \[4\], expected \[3\]/,
    );
    m.setParams({ 'head/bias': { shape: [3], data: new Float32Array([1, 2, 3]) } });
    expect(Array.from(m.getParams(['head/bias'])['head/bias'].data)).toEqual([1, 2, 3]);
  });

  it('encodeBatch rejects unknown answers and malformed images with clear errors', () => {
    const m = createModel('tiny', { seed: 1, answers: TOY_ANSWERS });
    const s = toySamples(1, 1)[0];
    expect(() => encodeBatch([{ ...s, answer: 'maybe' }], m)).toThrow(
      /answer "maybe" is not in the model's answer vocabulary/,
    );
    expect(() => encodeBatch([{ ...s, image: new Uint8Array(10) }], m)).toThrow(
      /sample.image: expected 28x28x1/,
    );
  });

  it('encodeBatch resizes other sizes and replicates grey to RGB', () => {
    const m = createModel('tiny', { seed: 1, answers: TOY_ANSWERS });
    const big = toySamples(1, 1, 56)[0];
    const b = encodeBatch([big], m);
    expect(b.images.shape).toEqual([1, 28, 28, 3]);
    const px = b.images.dataSync();
    expect(px[0]).toBe(px[1]);
    expect(px[1]).toBe(px[2]);
    expect(Math.max(...px)).toBeLessThanOrEqual(1);
    expect(Math.min(...px)).toBeGreaterThanOrEqual(-1);
    disposeBatch(b);
  });

  it('encodeBatch maps same-size pixels to v / 127.5 - 1 (grey replicated, RGB in order)', () => {
    const m = createModel('tiny', { seed: 1, answers: TOY_ANSWERS });
    const grey = toySamples(1, 3)[0];
    const rgb = { ...grey, channels: 3 as const, image: new Uint8Array(28 * 28 * 3) };
    for (let i = 0; i < rgb.image.length; i++) rgb.image[i] = (i * 37 + (i >> 5)) & 255;
    const b = encodeBatch([grey, rgb], m);
    const px = b.images.dataSync();
    const want = new Float32Array(2 * 28 * 28 * 3);
    for (let y = 0; y < 28; y++)
      for (let x = 0; x < 28; x++)
        for (let c = 0; c < 3; c++) {
          const o = (y * 28 + x) * 3 + c;
          want[o] = grey.image[y * 28 + x] / 127.5 - 1;
          want[28 * 28 * 3 + o] = rgb.image[o] / 127.5 - 1;
        }
    expect(px).toEqual(want);
    disposeBatch(b);
  });

  it('config validation names the field', () => {
    expect(() => resolveConfig('tiny', { patchSize: 5 })).toThrow(
      /imageSize 28 is not a multiple of patchSize 5/,
    );
    expect(() => resolveConfig('tiny', { hidden: 0 })).toThrow(/hidden must be a positive integer/);
    expect(() => resolveConfig('nope' as 'tiny')).toThrow(
      /unknown model preset "nope"; valid: tiny, small, vilt-b32/,
    );
  });

  it('LoRA option names its layers block{i}.lora and starts as the identity', () => {
    const cfg = resolveConfig('tiny', { peft: 'lora', numLayers: 2 });
    const m = createModel(cfg, { seed: 1, answers: TOY_ANSWERS });
    expect(m.layerNames()).toEqual(['block0.lora', 'block1.lora']);
    expect(m.paramNames('block1.lora')).toEqual([
      'block1.lora/q_a',
      'block1.lora/q_b',
      'block1.lora/v_a',
      'block1.lora/v_b',
    ]);
    const batch = encodeBatch(toySamples(2, 1), m);
    const [a, b] = tf.tidy(() => [
      m.apply({}, batch),
      m.apply({ 'block1.lora/q_a': tf.ones([64, 4]) }, batch),
    ]);
    expect(Array.from(b.dataSync())).toEqual(Array.from(a.dataSync()));
    tf.dispose([a, b]);
  });
});
