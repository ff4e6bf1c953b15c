// The proximal term's anchor (trainLayers' `proxAnchor`): a Ditto personal model is pulled
// toward the global one instead of its own starting point (train/local-recipe.ts
// proximalAnchors). Checked on one plain SGD step, where the pull is exactly -lr μ (w0 - a).
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { answerVocabulary, syntheticClient, type VqaSample } from '../src/data/index.js';
import { createModel, resolveConfig, type VqaModel } from '../src/model/index.js';
import { initNodeBackend } from '../src/node/index.js';
import type { NamedArrays } from '../src/tensors/named.js';
import { proximalAnchors, trainLayers } from '../src/train/index.js';

beforeAll(async () => {
  await initNodeBackend('wasm');
});

const vocab = answerVocabulary();
const train = syntheticClient('oct', { seed: 4 }).train.slice(0, 32) as VqaSample[];
const config = resolveConfig('tiny', { numLayers: 2 });
const layers = ['block1.adapter'];
const LR = 0.05;
const MU = 0.5;

/** One SGD step (no momentum, no weight decay) from the same start; returns the deltas. */
async function oneStep(extra: { proxMu?: number; proxAnchor?: NamedArrays }) {
  const m = createModel(config, { seed: 2, answers: vocab });
  try {
    const res = await trainLayers(m, train, {
      layers,
      steps: 1,
      batchSize: 16,
      lr: LR,
      weightDecay: 0,
      optimizer: 'sgdm',
      momentum: 0,
      seed: 9,
      ...extra,
    });
    return { deltas: res.deltas, start: startOf(m, Object.keys(res.deltas), res.deltas) };
  } finally {
    m.dispose();
  }
}

/** The params before the step: after - delta. */
function startOf(m: VqaModel, names: string[], deltas: NamedArrays): NamedArrays {
  const after = m.getParams(names);
  return Object.fromEntries(
    names.map((n) => [
      n,
      { shape: after[n].shape, data: after[n].data.map((v, i) => v - deltas[n].data[i]) },
    ]),
  );
}

/** A fixed anchor of the trained params' shapes: value 0.1·sin(i). */
function anchorLike(deltas: NamedArrays): NamedArrays {
  return Object.fromEntries(
    Object.entries(deltas).map(([n, d]) => [
      n,
      { shape: [...d.shape], data: Float32Array.from(d.data, (_, i) => 0.1 * Math.sin(i)) },
    ]),
  );
}

describe('trainLayers proxAnchor (Ditto, Li et al., ICML 2021, eq. 2)', () => {
  it('one SGD step: delta = plain delta - lr μ (w0 - anchor); without an anchor the first step has no pull', async () => {
    const plain = await oneStep({});
    const anchor = anchorLike(plain.deltas);
    const pulled = await oneStep({ proxMu: MU, proxAnchor: anchor });
    const fedprox = await oneStep({ proxMu: MU });
    for (const [n, d] of Object.entries(plain.deltas)) {
      const w0 = plain.start[n].data;
      const a = anchor[n].data;
      const p = pulled.deltas[n].data;
      for (let i = 0; i < d.data.length; i++) {
        expect(p[i]).toBeCloseTo(d.data[i] - LR * MU * (w0[i] - a[i]), 6);
      }
      // FedProx's anchor is the start: zero pull on the first step, the same delta.
      expect(Array.from(fedprox.deltas[n].data)).toEqual(Array.from(d.data));
    }
    // The pull moved something (the anchor differs from the start).
    const moved = Object.keys(plain.deltas).some((n) =>
      plain.deltas[n].data.some((v, i) => v !== pulled.deltas[n].data[i]),
    );
    expect(moved).toBe(true);
  });

  it('is reproducible and leaks no tensor', async () => {
    const plain = await oneStep({});
    const anchor = anchorLike(plain.deltas);
    const before = tf.memory().numTensors;
    const a = await oneStep({ proxMu: MU, proxAnchor: anchor });
    expect(tf.memory().numTensors).toBe(before);
    const b = await oneStep({ proxMu: MU, proxAnchor: anchor });
    for (const n of Object.keys(a.deltas))
      expect(Array.from(b.deltas[n].data)).toEqual(Array.from(a.deltas[n].data));
  });

  it('refuses an anchor that lacks a trained param or has another shape, naming it', () => {
    const t = { w: tf.zeros([2, 3]) };
    const current = (n: string) => t[n as 'w'];
    expect(() => proximalAnchors(0.1, ['w'], current, {})).toThrow(/"w" is missing/);
    expect(() =>
      proximalAnchors(0.1, ['w'], current, { w: { shape: [3, 2], data: new Float32Array(6) } }),
    ).toThrow(/"w" has shape \[3, 2\], the param \[2, 3\]/);
    // μ = 0: no anchors at all.
    expect(proximalAnchors(0, ['w'], current, {})).toEqual({});
    const before = tf.memory().numTensors;
    const out = proximalAnchors(0.1, ['w'], current, {
      w: { shape: [2, 3], data: Float32Array.from([1, 2, 3, 4, 5, 6]) },
    });
    expect(Array.from(out.w.dataSync())).toEqual([1, 2, 3, 4, 5, 6]);
    tf.dispose(Object.values(out));
    expect(tf.memory().numTensors).toBe(before);
    t.w.dispose();
  });
});
