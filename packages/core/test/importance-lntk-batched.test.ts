// LNTK's batched path (one backward pass per output vector, per-sample rows from tapped adapter
// ops) against the per-sample reference path (one batch-1 backward pass per row).
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { answerVocabulary, syntheticClient } from '../src/data/index.js';
import type { LntkResult } from '../src/importance/lntk.js';
import { computeLntk } from '../src/importance/vqa.js';
import { PRESETS, createModel, type VqaModel } from '../src/model/index.js';
import { gaussian, mulberry32 } from '../src/random.js';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

const samples = syntheticClient('blood_microscope', { seed: 3 }).train.slice(0, 6);
const tinyModel = (peft: 'adapter' | 'lora' = 'adapter') =>
  createModel({ ...PRESETS.tiny, numLayers: 3, peft }, { seed: 2, answers: answerVocabulary() });

/** Max over entries of |a - b|, relative to the largest |b| entry of that Gram. */
function gramError(a: LntkResult, b: LntkResult): number {
  let worst = 0;
  a.grams!.forEach((G, l) => {
    const R = b.grams![l];
    const scale = Math.max(...Array.from(R, Math.abs));
    for (let k = 0; k < G.length; k++) worst = Math.max(worst, Math.abs(G[k] - R[k]) / scale);
  });
  return worst;
}

function expectSame(a: LntkResult, b: LntkResult): void {
  expect(a.rows).toBe(b.rows);
  a.lambda1.forEach((x, l) => {
    expect(b.lambda1[l]).toBeGreaterThan(0);
    expect(Math.abs(x - b.lambda1[l]) / b.lambda1[l]).toBeLessThan(1e-4);
  });
  expect(gramError(a, b)).toBeLessThan(1e-4);
}

describe('batched LNTK equals the per-sample reference', () => {
  it('true-logit kernel, probed zero up-projections (round-1 adapters)', () => {
    const model = tinyModel();
    const opts = { seed: 1, keepGrams: true };
    const a = computeLntk(model, samples, opts);
    const b = computeLntk(model, samples, { ...opts, batched: false });
    expect(a.path).toBe('batched');
    expect(b.path).toBe('per-sample');
    expectSame(a, b);
    model.dispose();
  });

  it('projections kernel (kappa = 2, row order i * kappa + j), trained-like adapters', () => {
    const model = tinyModel();
    // Non-zero up-projections and biases, so no probe and every parameter has a live gradient.
    const rand = mulberry32(7);
    const values = model.getParams(model.layerNames().flatMap((l) => model.paramNames(l)));
    for (const v of Object.values(values))
      v.data = Float32Array.from(v.data, () => 0.1 * gaussian(rand));
    model.setParams(values);
    const opts = { seed: 4, kernel: 'projections' as const, projections: 2, keepGrams: true };
    const a = computeLntk(model, samples, opts);
    const b = computeLntk(model, samples, { ...opts, batched: false });
    expect(a.path).toBe('batched');
    expect(a.rows).toBe(samples.length * 2);
    expectSame(a, b);
    model.dispose();
  });

  it('falls back to per-sample passes for LoRA and for block-weight scoring', () => {
    const lora = tinyModel('lora');
    const r = computeLntk(lora, samples, { seed: 1 });
    expect(r.path).toBe('per-sample');
    lora.dispose();
    const model: VqaModel = tinyModel();
    expect(computeLntk(model, samples, { seed: 1, unit: 'block' }).path).toBe('per-sample');
    model.dispose();
  });

  it('does not leak tensors', () => {
    const model = tinyModel();
    computeLntk(model, samples, { seed: 1 }); // backend warm-up
    const before = tf.memory().numTensors;
    computeLntk(model, samples, { seed: 1 });
    computeLntk(model, samples, { seed: 1, kernel: 'projections', projections: 2 });
    expect(tf.memory().numTensors).toBe(before);
    model.dispose();
  });
});
