import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { createModel, encodeBatch, frozenBytes, PRESETS } from '../src/model/index.js';
import { initNodeBackend } from '../src/node/index.js';

beforeAll(async () => {
  await initNodeBackend('wasm');
});

describe('vilt-b32 preset', () => {
  it('builds and runs one forward pass on a dummy batch of 1', () => {
    const m = createModel('vilt-b32', { seed: 1 });
    const counts = m.countParams();
    // Pfeiffer adapter, reduction 16 on hidden 768: 768*48 + 48 + 48*768 + 768 = 74,544
    // parameters each, the figure docs/method.md §3 derives from the paper's Table 2.
    expect(counts.perLayer['block0.adapter']).toBe(74_544);
    expect(m.layerNames()).toHaveLength(12);
    expect(counts.frozen).toBeGreaterThan(100e6);
    const fb = frozenBytes(PRESETS['vilt-b32']);
    expect(fb.int8 / fb.fp32).toBeLessThan(0.26);
    const image = new Uint8Array(384 * 384 * 3).map((_, i) => (i * 31) % 256);
    const batch = encodeBatch(
      [
        {
          image,
          size: 384,
          channels: 3,
          question: 'is there a cat?',
          answer: 'class7',
          questionType: 'other',
        },
      ],
      m,
    );
    const before = tf.memory().numTensors;
    const logits = tf.tidy(() => m.apply({}, batch));
    expect(logits.shape).toEqual([1, 3129]);
    expect(Array.from(logits.dataSync()).every(Number.isFinite)).toBe(true);
    logits.dispose();
    expect(tf.memory().numTensors).toBe(before);
    tf.dispose([batch.images, batch.tokens, batch.mask, batch.labels]);
    m.dispose();
  }, 120_000);
});
