// int8MatMul (model/int8-matmul.ts) on cpu and wasm, where it is the plain-ops fallback
// (dequantize, then tf.matMul): within the documented bound K * 2^-24 * sum |x w| of an exact
// float64 reference, forward and input gradient, for shapes with partial 16 x 16 tiles and both
// orientations; and bitwise equal to tf.matMul of the dequantized weight (the fp32 path). The
// fused WebGPU kernel runs the same check in a tab (e2e/int8-matmul.e2e.ts).
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  checkInt8MatMul,
  dequantizeInt8,
  dotErrorBound,
  fusedInt8Available,
  int8MatMul,
  int8Weight,
  quantizeInt8,
  type Int8MatMulCase,
} from '../src/model/index.js';
import { initNodeBackend } from '../src/node/index.js';
import { mulberry32 } from '../src/random.js';

const CASES: Int8MatMulCase[] = [
  { m: 1, k: 1, n: 1, seed: 1 },
  { m: 5, k: 37, n: 19, seed: 2 },
  { m: 33, k: 64, n: 48, seed: 3 },
  { m: 17, k: 40, n: 23, transposeW: true, seed: 4 },
  { m: 50, k: 128, n: 512, seed: 5 }, // tiny's MLP width
];

for (const backend of ['cpu', 'wasm'] as const) {
  describe(`int8MatMul fallback (${backend})`, () => {
    beforeAll(async () => {
      await initNodeBackend(backend);
    });

    it('is within the documented bound of the exact product and gradient', async () => {
      const before = tf.memory().numTensors;
      for (const storage of ['host', 'device'] as const) {
        const res = await checkInt8MatMul(CASES, storage);
        for (const r of res) {
          expect(r.fused).toBe(false); // no fused kernel off webgpu
          expect(r.maxBoundRatio).toBeLessThanOrEqual(1);
          expect(r.gradMaxBoundRatio).toBeLessThanOrEqual(1);
        }
      }
      expect(tf.memory().numTensors).toBe(before);
    });

    it('equals tf.matMul of the dequantized weight bitwise', () => {
      const rand = mulberry32(9);
      const k = 30;
      const n = 21;
      const q = quantizeInt8(
        Float32Array.from({ length: k * n }, () => rand() - 0.5),
        [k, n],
        1,
      );
      const x = tf.tensor2d(
        Float32Array.from({ length: 7 * k }, () => rand() - 0.5),
        [7, k],
      );
      const xt = tf.tensor2d(
        Float32Array.from({ length: 7 * n }, () => rand() - 0.5),
        [7, n],
      );
      const W = tf.tensor2d(dequantizeInt8(q), [k, n]);
      for (const storage of ['host', 'device'] as const) {
        const w = int8Weight(q, storage);
        expect(fusedInt8Available(w)).toBe(false);
        expect(int8MatMul(x, w).dataSync()).toEqual(tf.matMul(x, W).dataSync());
        expect(int8MatMul(xt, w, true).dataSync()).toEqual(
          tf.matMul(xt, W, false, true).dataSync(),
        );
        w.dispose();
      }
      tf.dispose([x, xt, W]);
    });

    it('rejects mismatched shapes and per-row tables with a clear error', () => {
      const q = quantizeInt8(new Float32Array(12).fill(0.5), [3, 4], 1);
      const rows = quantizeInt8(new Float32Array(12).fill(0.5), [3, 4], 0);
      const w = int8Weight(q, 'host');
      const x = tf.zeros([2, 4]) as tf.Tensor2D;
      expect(() => int8MatMul(x, w)).toThrow(/x \[2,4\] does not match W of W \[3, 4\]/);
      expect(() => int8MatMul(x, int8Weight(rows, 'host'))).toThrow(/per output column/);
      expect(int8MatMul(x, w, true).shape).toEqual([2, 3]);
      x.dispose();
    });
  });
}

describe('dotErrorBound', () => {
  it('is K 2^-24 sum |a b|', () => {
    const b = dotErrorBound(Float64Array.of(1, -2), Float64Array.of(3, 4), 1, 2, 1);
    expect(b[0]).toBeCloseTo(2 * 2 ** -24 * (3 + 8), 20);
  });
});
