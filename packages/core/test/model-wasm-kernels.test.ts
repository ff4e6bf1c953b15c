// model/wasm-kernels.ts: the SIMD batched product (wasm-bmm.ts) against a float64 reference and
// against the backend's own kernel, for every transpose and broadcast form it takes; the
// shared-buffer Identity; determinism and no leaked tensors or bytes.
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bmmModuleBytes, instantiateBmm } from '../src/model/wasm-bmm.js';
import {
  installWasmKernels,
  simdBatchMatMulCalls,
  useWasmKernels,
} from '../src/model/wasm-kernels.js';
import { initNodeBackend } from '../src/node/index.js';

beforeAll(async () => {
  installWasmKernels();
  await initNodeBackend('wasm');
});
afterAll(() => useWasmKernels(true));

/** float64 product of row-major batches, with tfjs's transpose and broadcast rules. */
function reference(
  a: Float32Array,
  as: number[],
  b: Float32Array,
  bs: number[],
  ta: boolean,
  tb: boolean,
): Float64Array {
  const [m, k] = ta ? [as.at(-1)!, as.at(-2)!] : [as.at(-2)!, as.at(-1)!];
  const n = tb ? bs.at(-2)! : bs.at(-1)!;
  const batchA = as.slice(0, -2).reduce((x, y) => x * y, 1);
  const batchB = bs.slice(0, -2).reduce((x, y) => x * y, 1);
  const batch = Math.max(batchA, batchB);
  const out = new Float64Array(batch * m * n);
  for (let t = 0; t < batch; t++) {
    const ao = (batchA === 1 ? 0 : t) * m * k;
    const bo = (batchB === 1 ? 0 : t) * k * n;
    for (let i = 0; i < m; i++)
      for (let j = 0; j < n; j++) {
        let s = 0;
        for (let p = 0; p < k; p++) {
          const av = a[ao + (ta ? p * m + i : i * k + p)];
          const bv = b[bo + (tb ? j * k + p : p * n + j)];
          s += av * bv;
        }
        out[t * m * n + i * n + j] = s;
      }
  }
  return out;
}

const CASES: [number[], number[], boolean, boolean][] = [
  [[64, 33, 16], [64, 33, 16], false, true], // attention Q K^T
  [[64, 33, 33], [64, 33, 16], false, false], // attention P V
  [[64, 33, 33], [64, 33, 16], true, false], // its gradients
  [[64, 33, 16], [64, 33, 33], true, true],
  [[2, 3, 5, 7], [2, 3, 7, 6], false, false], // rank 4
  [[4, 5, 9], [9, 3], false, false], // b without batch (broadcast)
  [[1, 5, 9], [4, 9, 3], false, false], // a with batch 1
  [[3, 1, 5], [3, 5, 1], false, false], // 1-wide rows and columns
];

describe('SIMD batched matMul on wasm', () => {
  it.each(CASES)(
    '%j x %j (transposeA %s, transposeB %s) matches float64 and tfjs',
    (as, bs, ta, tb) => {
      const a = tf.randomNormal(as, 0, 1, 'float32', as.length * 13 + as[0]);
      const b = tf.randomNormal(bs, 0, 1, 'float32', bs.length * 17 + bs[0]);
      const before = tf.memory();
      useWasmKernels(true);
      const y = tf.matMul(a, b, ta, tb);
      const y2 = tf.matMul(a, b, ta, tb);
      useWasmKernels(false);
      const z = tf.matMul(a, b, ta, tb);
      useWasmKernels(true);
      expect(y.shape).toEqual(z.shape);
      const ref = reference(
        a.dataSync() as Float32Array,
        as,
        b.dataSync() as Float32Array,
        bs,
        ta,
        tb,
      );
      const yv = y.dataSync();
      const zv = z.dataSync();
      const k = ta ? as.at(-2)! : as.at(-1)!;
      const tol = 1e-6 * Math.sqrt(k) * 8;
      let worst = 0;
      let worstTfjs = 0;
      for (let i = 0; i < ref.length; i++) {
        worst = Math.max(worst, Math.abs(yv[i] - ref[i]));
        worstTfjs = Math.max(worstTfjs, Math.abs(zv[i] - ref[i]));
      }
      expect(worst).toBeLessThan(tol);
      expect(worstTfjs).toBeLessThan(tol);
      expect(Array.from(y2.dataSync())).toEqual(Array.from(yv)); // deterministic
      tf.dispose([y, y2, z]);
      expect(tf.memory().numTensors).toBe(before.numTensors);
      expect(tf.memory().numBytes).toBe(before.numBytes);
      tf.dispose([a, b]);
    },
  );

  it('gradients through a batched product match the backend kernel', () => {
    const q = tf.randomNormal([8, 33, 16], 0, 1, 'float32', 1);
    const k = tf.randomNormal([8, 33, 16], 0, 1, 'float32', 2);
    const f = (x: tf.Tensor, y: tf.Tensor) => tf.sum(tf.square(tf.matMul(x, y, false, true)));
    const g = (on: boolean) => {
      useWasmKernels(on);
      const r = tf.grads(f)([q, k]);
      useWasmKernels(true);
      return r;
    };
    const calls = simdBatchMatMulCalls();
    const [dq1, dk1] = g(true);
    expect(simdBatchMatMulCalls()).toBeGreaterThanOrEqual(calls + 3); // forward + both grads
    const [dq0, dk0] = g(false);
    const rel = (x: tf.Tensor, y: tf.Tensor) =>
      tf.tidy(
        () =>
          tf
            .max(tf.abs(tf.sub(x, y)))
            .div(tf.max(tf.abs(y)))
            .dataSync()[0],
      );
    expect(rel(dq1, dq0)).toBeLessThan(1e-5);
    expect(rel(dk1, dk0)).toBeLessThan(1e-5);
    tf.dispose([q, k, dq1, dk1, dq0, dk0]);
  });

  it('leaves general broadcasts to the backend, with the same result', () => {
    const a = tf.randomNormal([2, 1, 3, 4], 0, 1, 'float32', 5);
    const b = tf.randomNormal([1, 5, 4, 6], 0, 1, 'float32', 6);
    const calls = simdBatchMatMulCalls();
    const y = tf.matMul(a, b);
    expect(simdBatchMatMulCalls()).toBe(calls);
    expect(y.shape).toEqual([2, 5, 3, 6]);
    tf.dispose([a, b, y]);
  });

  it('declines a shared (threaded) memory', () => {
    const shared = new WebAssembly.Memory({ initial: 1, maximum: 2, shared: true });
    expect(instantiateBmm(shared)).toBeNull();
    expect(instantiateBmm(new WebAssembly.Memory({ initial: 1 }))).not.toBeNull();
  });

  it('the module is a few hundred bytes of valid WebAssembly', () => {
    const bytes = bmmModuleBytes();
    expect(WebAssembly.validate(bytes)).toBe(true);
    expect(bytes.length).toBeLessThan(1000);
  });
});

describe('shared-buffer Identity on wasm', () => {
  it('a clone keeps its values after the original is disposed; nothing leaks', () => {
    const before = tf.memory();
    const x = tf.tensor([1, 2, 3, 4], [2, 2]);
    const y = tf.clone(x);
    x.dispose();
    expect(Array.from(y.dataSync())).toEqual([1, 2, 3, 4]);
    y.dispose();
    expect(tf.memory().numTensors).toBe(before.numTensors);
    expect(tf.memory().numBytes).toBe(before.numBytes);
  });
});
