// forward.ts layerNorm (hand-written gradient) against tfjs's own differentiation of the
// op-by-op definition (tf.moments, normalise, scale, shift): same forward bits, same gradients
// for the input, gamma and beta up to float32 rounding. The fused wasm kernel that replaces it
// where it fits is switched off here (test/model-fused-kernels.test.ts checks that one).
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { layerNorm } from '../src/model/forward.js';
import { useFusedKernels } from '../src/model/wasm-kernels.js';
import { initNodeBackend } from '../src/node/index.js';

beforeAll(async () => {
  await initNodeBackend('wasm');
  useFusedKernels(false);
});
afterAll(() => useFusedKernels(true));

function reference(x: tf.Tensor, gamma: tf.Tensor, beta: tf.Tensor, eps: number): tf.Tensor {
  const { mean, variance } = tf.moments(x, -1, true);
  return x
    .sub(mean)
    .mul(tf.rsqrt(variance.add(eps)))
    .mul(gamma)
    .add(beta);
}

describe('layerNorm', () => {
  it.each([
    [[4, 7, 16], 1e-6],
    [[3, 32], 1e-12],
  ] as const)('shape %j, eps %d: forward bits and gradients match autodiff', (shape, eps) => {
    const seed = shape.length * 7;
    const H = shape[shape.length - 1];
    const x = tf.randomNormal([...shape], 0.3, 2, 'float32', seed);
    const gamma = tf.randomNormal([H], 1, 0.5, 'float32', seed + 1);
    const beta = tf.randomNormal([H], 0, 0.5, 'float32', seed + 2);
    // A non-uniform upstream gradient (a plain sum would hide errors in the mean terms).
    const w = tf.randomNormal([...shape], 0, 1, 'float32', seed + 3);
    const ours = layerNorm(x, gamma, beta, eps);
    const ref = reference(x, gamma, beta, eps);
    expect(Buffer.from(ours.dataSync().buffer).equals(Buffer.from(ref.dataSync().buffer))).toBe(
      true,
    );
    const loss = (f: typeof reference) => (a: tf.Tensor, g: tf.Tensor, b: tf.Tensor) =>
      f(a, g, b, eps).mul(w).sum();
    const got = tf.grads(loss(layerNorm))([x, gamma, beta]);
    const want = tf.grads(loss(reference))([x, gamma, beta]);
    ['x', 'gamma', 'beta'].forEach((name, i) => {
      const g = got[i].dataSync();
      const r = want[i].dataSync();
      const scale = Math.max(...r.map(Math.abs));
      expect(scale, name).toBeGreaterThan(0);
      r.forEach((v, j) => expect(Math.abs(g[j] - v), `${name}[${j}]`).toBeLessThan(1e-5 * scale));
    });
  });
});
