// model/wasm-kernels.ts: the SIMD batched product (wasm-bmm.ts) against a float64 reference and
// against the backend's own kernel, for every transpose and broadcast form it takes; the
// shared-buffer Identity; determinism and no leaked tensors or bytes.
import { execFileSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { instantiateSimd, simdModuleBytes } from '../src/model/wasm-simd.js';
import {
  installWasmKernels,
  simdBatchMatMulCalls,
  simdErfKernelCalls,
  simdExpKernelCalls,
  useWasmKernels,
} from '../src/model/wasm-kernels.js';
import { initNodeBackend } from '../src/node/index.js';
import { erf64 } from './float64-reference.js';

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
  [[4, 9, 5], [9, 3], true, false], // transposed A read in place, b broadcast
  [[5, 9], [4, 5, 3], true, false], // transposed A without batch
  [[6, 17, 21], [6, 17, 37], true, false], // every column stage (16, 4, 1)
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

  it('every element is the float32 sum 0 + a0 b0 + a1 b1 + ... in the order of p, bit for bit', () => {
    // The kernel's documented arithmetic (wasm-simd.ts), whatever the tiling: rows two at a time
    // and alone, column stages 16 / 4 / 1, A read transposed, broadcast B, signed zeros.
    const memory = new WebAssembly.Memory({ initial: 4 });
    const k = instantiateSimd(memory)!;
    const f = new Float32Array(memory.buffer);
    const bits = new Uint32Array(memory.buffer);
    const shapes: [
      batch: number,
      m: number,
      kk: number,
      n: number,
      aT: boolean,
      bShared: boolean,
    ][] = [
      [2, 5, 7, 37, false, false],
      [3, 4, 9, 21, true, false],
      [2, 3, 5, 16, false, true],
      [1, 1, 4, 3, true, true],
      [1, 6, 1, 20, false, false],
    ];
    let seed = 7;
    const next = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31) * 4 - 2;
    // Plain row-major operands, then B and C with rows further apart than n and C's batches
    // further apart than m n (attention's per-head views of [n, L, H]).
    for (const [batch, m, kk, n, aT, bShared] of shapes)
      for (const [bPad, cPad] of [
        [0, 0],
        [3, 5],
      ]) {
        const [a0, b0, c0] = [0, 16384, 32768]; // byte offsets
        const [br, cr] = [n + bPad, n + cPad];
        const cStride = (m * cr + cPad) * 4;
        const aLen = batch * m * kk;
        const bLen = (bShared ? 1 : batch) * kk * br;
        for (let x = 0; x < aLen; x++) f[a0 / 4 + x] = x % 11 === 0 ? -0 : next();
        for (let x = 0; x < bLen; x++) f[b0 / 4 + x] = x % 13 === 0 ? 0 : next();
        f.fill(Number.NaN, c0 / 4, c0 / 4 + (batch * cStride) / 4);
        k.bmm(
          a0,
          b0,
          c0,
          batch,
          m,
          kk,
          n,
          m * kk * 4,
          bShared ? 0 : kk * br * 4,
          aT ? 1 : kk,
          aT ? m : 1,
          br,
          cStride,
          cr,
        );
        const want = new Float32Array(1);
        const wantBits = new Uint32Array(want.buffer);
        for (let t = 0; t < batch; t++)
          for (let i = 0; i < m; i++) {
            for (let j = 0; j < n; j++) {
              let s = 0;
              for (let p = 0; p < kk; p++) {
                const av = f[a0 / 4 + t * m * kk + (aT ? p * m + i : i * kk + p)];
                const bv = f[b0 / 4 + (bShared ? 0 : t * kk * br) + p * br + j];
                s = Math.fround(s + Math.fround(av * bv));
              }
              want[0] = s;
              expect(bits[c0 / 4 + (t * cStride) / 4 + i * cr + j]).toBe(wantBits[0]);
            }
            // The padding between C's rows is left alone.
            for (let j = n; j < cr && i < m - 1; j++)
              expect(f[c0 / 4 + (t * cStride) / 4 + i * cr + j]).toBeNaN();
          }
      }
  });

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

  it('runs on a shared (threaded build) memory as on a plain one', () => {
    for (const shared of [false, true]) {
      const memory = shared
        ? new WebAssembly.Memory({ initial: 1, maximum: 16, shared: true })
        : new WebAssembly.Memory({ initial: 1 });
      const k = instantiateSimd(memory);
      expect(k).not.toBeNull();
      const f = new Float32Array(memory.buffer);
      // [2, 3] x [3, 2] at float offsets 0 and 8, result at 16; erf of 5 values at 32 -> 40.
      f.set([1, 2, 3, 4, 5, 6], 0);
      f.set([1, 0, 0, 1, 1, 1], 8);
      k!.bmm(0, 32, 64, 1, 2, 3, 2, 0, 0, 3, 1, 2, 16, 2);
      expect(Array.from(f.subarray(16, 20))).toEqual([4, 5, 10, 11]);
      f.set([-1, -0.5, 0, 0.5, 1], 32);
      k!.erf(128, 160, 5);
      const want = [
        -0.8427007929497149, -0.5204998778130465, 0, 0.5204998778130465, 0.8427007929497149,
      ];
      f.subarray(40, 45).forEach((v, i) => expect(Math.abs(v - want[i])).toBeLessThan(4e-7));
    }
  });

  it('the module is a few kilobytes of valid WebAssembly', () => {
    const bytes = simdModuleBytes();
    expect(WebAssembly.validate(bytes)).toBe(true);
    expect(bytes.length).toBeLessThan(4000);
  });
});

describe('SIMD erf on wasm', () => {
  it('matches a float64 erf within 4e-7 over [-6, 6], for every tail length', () => {
    for (const len of [1, 2, 3, 4, 5, 7, 4001]) {
      const xs = Float32Array.from({ length: len }, (_, i) => -6 + (12 * i) / Math.max(1, len - 1));
      const x = tf.tensor1d(xs);
      const calls = simdErfKernelCalls();
      const y = tf.erf(x);
      expect(simdErfKernelCalls()).toBe(calls + 1);
      useWasmKernels(false);
      const z = tf.erf(x);
      useWasmKernels(true);
      const yv = y.dataSync();
      const zv = z.dataSync();
      let ours = 0;
      let theirs = 0;
      for (let i = 0; i < len; i++) {
        const ref = erf64(xs[i]);
        ours = Math.max(ours, Math.abs(yv[i] - ref));
        theirs = Math.max(theirs, Math.abs(zv[i] - ref));
      }
      // Measured: 3.1e-7 at most (a few float32 ulps of values near 1); the backend's scalar
      // erf 4.3e-8. Either is far below what a GELU input's own rounding moves.
      expect(ours).toBeLessThan(4e-7);
      expect(theirs).toBeLessThan(4e-7);
      tf.dispose([x, y, z]);
    }
  });

  it('the float64 reference itself agrees with known values', () => {
    expect(erf64(0.5)).toBeCloseTo(0.5204998778130465, 14);
    expect(erf64(1)).toBeCloseTo(0.8427007929497149, 14);
    expect(erf64(-2)).toBeCloseTo(-0.9953222650189527, 14);
    expect(erf64(3.5)).toBeCloseTo(0.9999992569016276, 14);
  });

  it('saturates at +-1, keeps NaN and signed zero', () => {
    const x = tf.tensor1d([Infinity, -Infinity, 10, -10, NaN, 0, -0]);
    const y = Array.from(tf.erf(x).dataSync());
    expect(y.slice(0, 4)).toEqual([1, -1, 1, -1]);
    expect(Number.isNaN(y[4])).toBe(true);
    expect(Object.is(y[5], 0)).toBe(true);
    expect(Object.is(y[6], -0)).toBe(true);
    x.dispose();
  });
});

describe('SIMD exp on wasm', () => {
  it('is within 2e-7 relative of exp over [-103, 89] (float32 inputs), every tail length', () => {
    for (const len of [1, 3, 5, 20001]) {
      const xs = Float32Array.from(
        { length: len },
        (_, i) => -103 + (192 * i) / Math.max(1, len - 1),
      );
      const x = tf.tensor1d(xs);
      const calls = simdExpKernelCalls();
      const y = tf.exp(x);
      expect(simdExpKernelCalls()).toBe(calls + 1);
      const yv = y.dataSync();
      let worst = 0;
      for (let i = 0; i < len; i++) {
        const want = Math.exp(xs[i]);
        // Normal results: relative error; denormal ones: absolute, at their resolution.
        const err =
          want >= 1.2e-38 ? Math.abs(yv[i] - want) / want : Math.abs(yv[i] - want) / 1.4e-45;
        if (want < 3.4e38) worst = Math.max(worst, want >= 1.2e-38 ? err : 0);
        if (want < 1.2e-38) expect(Math.abs(yv[i] - want)).toBeLessThanOrEqual(1.5e-45);
      }
      expect(worst).toBeLessThan(2e-7);
      tf.dispose([x, y]);
    }
  });

  it('overflows to inf, underflows to 0, keeps NaN; matches the backend on the edges', () => {
    const edge = [Infinity, -Infinity, NaN, 89, 88.72, -104, -1000, 0, -0, 1e-30];
    const x = tf.tensor1d(edge);
    const y = Array.from(tf.exp(x).dataSync());
    useWasmKernels(false);
    const z = Array.from(tf.exp(x).dataSync());
    useWasmKernels(true);
    expect(y[0]).toBe(Infinity);
    expect(y[1]).toBe(0);
    expect(Number.isNaN(y[2])).toBe(true);
    expect(y[3]).toBe(Infinity);
    expect(y.slice(5, 7)).toEqual([0, 0]);
    expect(y.slice(7)).toEqual([1, 1, 1]);
    edge.forEach((_, i) => {
      if (Number.isFinite(z[i]) && z[i] > 0)
        expect(Math.abs(y[i] - z[i]) / z[i]).toBeLessThan(3e-7);
      else expect(Object.is(y[i], z[i]) || (Number.isNaN(y[i]) && Number.isNaN(z[i]))).toBe(true);
    });
    x.dispose();
  });
});

describe('installation', () => {
  it('importing the model leaves the default backend alone (cpu until one is chosen)', () => {
    const core = join(dirname(fileURLToPath(import.meta.url)), '..');
    const script =
      "const tf = await import('@tensorflow/tfjs'); await import('./src/model/index.ts');" +
      'tf.tensor([1, 2]).dispose(); console.log(tf.getBackend());';
    const out = execFileSync(
      process.execPath,
      ['--import', 'tsx', '--input-type=module', '-e', script],
      {
        cwd: core,
        encoding: 'utf8',
      },
    );
    expect(out.trim().split('\n').pop()).toBe('cpu');
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
