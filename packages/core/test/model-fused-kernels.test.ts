// model/fused-ops.ts over the fused wasm kernels (wasm-fused.ts): LayerNorm forward and
// backward and GELU and its gradient against float64 references and against the tfjs
// compositions they replace; the AdamW update bit for bit against train/adamw.ts's tfjs
// composition; fallbacks, errors, and no leaked tensors.
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { layerNorm } from '../src/model/forward.js';
import {
  fusedAdamW,
  fusedDense,
  fusedGelu,
  fusedHeadMatMul,
  fusedLayerNorm,
  fusedLayerNormFits,
  fusedScaledSoftmax,
  fusedSoftmaxFits,
} from '../src/model/fused-ops.js';
import { fusedModuleBytes } from '../src/model/wasm-fused.js';
import {
  fusedKernelCalls,
  fusedKernelsActive,
  installWasmKernels,
  useFusedKernels,
} from '../src/model/wasm-kernels.js';
import { initNodeBackend } from '../src/node/index.js';
import { AdamW } from '../src/train/adamw.js';
import { erf64 } from './float64-reference.js';

beforeAll(async () => {
  installWasmKernels();
  await initNodeBackend('wasm');
});
afterAll(() => useFusedKernels(true));

/** float64 LayerNorm of rows of h: y, and dx, dgamma, dbeta for the upstream gradient w. */
function layerNorm64(
  x: Float32Array,
  g: Float32Array,
  b: Float32Array,
  w: Float32Array,
  eps: number,
) {
  const h = g.length;
  const rows = x.length / h;
  const y = new Float64Array(x.length);
  const dx = new Float64Array(x.length);
  const dg = new Float64Array(h);
  const db = new Float64Array(h);
  for (let r = 0; r < rows; r++) {
    const o = r * h;
    let mean = 0;
    for (let j = 0; j < h; j++) mean += x[o + j] / h;
    let v = 0;
    for (let j = 0; j < h; j++) v += (x[o + j] - mean) ** 2 / h;
    const rs = 1 / Math.sqrt(v + eps);
    const xh = Array.from({ length: h }, (_, j) => (x[o + j] - mean) * rs);
    let m1 = 0;
    let m2 = 0;
    for (let j = 0; j < h; j++) {
      y[o + j] = xh[j] * g[j] + b[j];
      const gj = w[o + j] * g[j];
      m1 += gj / h;
      m2 += (gj * xh[j]) / h;
      dg[j] += w[o + j] * xh[j];
      db[j] += w[o + j];
    }
    for (let j = 0; j < h; j++) dx[o + j] = rs * (w[o + j] * g[j] - m1 - xh[j] * m2);
  }
  return { y, dx, dg, db };
}

const maxAbs = (xs: ArrayLike<number>) => Math.max(...Array.from(xs, Math.abs));
function expectClose(got: ArrayLike<number>, want: ArrayLike<number>, rel: number, what: string) {
  expect(got.length, what).toBe(want.length);
  const tol = rel * Math.max(1e-30, maxAbs(want));
  for (let i = 0; i < want.length; i++)
    expect(Math.abs(got[i] - want[i]), `${what}[${i}]`).toBeLessThanOrEqual(tol);
}

const f32 = (t: tf.Tensor) => t.dataSync() as Float32Array;

const sameBits = (a: tf.Tensor, b: tf.Tensor) =>
  Buffer.from(a.dataSync().buffer).equals(Buffer.from(b.dataSync().buffer));

describe('fused kernels module', () => {
  it('is valid WebAssembly of a few kilobytes and is active on wasm', () => {
    const bytes = fusedModuleBytes();
    expect(WebAssembly.validate(bytes)).toBe(true);
    expect(WebAssembly.validate(fusedModuleBytes(true))).toBe(true);
    expect(bytes.length).toBeLessThan(16_000);
    expect(fusedKernelsActive()).toBe(true);
    useFusedKernels(false);
    expect(fusedKernelsActive()).toBe(false);
    useFusedKernels(true);
  });
});

describe('fused LayerNorm on wasm', () => {
  it.each([
    [[4, 7, 64], 1e-12],
    [[3, 8], 1e-6],
    [[1, 4], 1e-5],
    [[2, 5, 3, 16], 1e-12],
  ] as const)('shape %j, eps %d: forward and gradients match float64', (shape, eps) => {
    const seed = (shape as readonly number[]).reduce((a, b) => a * 3 + b, 1);
    const h = shape[shape.length - 1];
    const x = tf.randomNormal([...shape], 0.3, 2, 'float32', seed);
    const gamma = tf.randomNormal([h], 1, 0.5, 'float32', seed + 1);
    const beta = tf.randomNormal([h], 0, 0.5, 'float32', seed + 2);
    const w = tf.randomNormal([...shape], 0, 1, 'float32', seed + 3);
    const before = tf.memory().numTensors;
    const calls = fusedKernelCalls();
    const f = (a: tf.Tensor, g: tf.Tensor, b: tf.Tensor) =>
      fusedLayerNorm(a, g, b, eps).mul(w).sum();
    const y = fusedLayerNorm(x, gamma, beta, eps);
    const [dx, dg, db] = tf.grads(f)([x, gamma, beta]);
    expect(fusedKernelCalls()).toBeGreaterThanOrEqual(calls + 3); // forward twice, backward
    const ref = layerNorm64(f32(x), f32(gamma), f32(beta), f32(w), eps);
    expectClose(y.dataSync(), ref.y, 2e-6, 'y');
    expectClose(dx.dataSync(), ref.dx, 1e-5, 'dx');
    expectClose(dg.dataSync(), ref.dg, 1e-5, 'dgamma');
    expectClose(db.dataSync(), ref.db, 1e-5, 'dbeta');
    tf.dispose([y, dx, dg, db]);
    expect(tf.memory().numTensors).toBe(before);
    tf.dispose([x, gamma, beta, w]);
  });

  it("forward.ts's layerNorm uses it where it fits and the composition elsewhere", () => {
    const fits = tf.zeros([2, 8]);
    const odd = tf.zeros([2, 6]);
    expect(fusedLayerNormFits(fits)).toBe(true);
    expect(fusedLayerNormFits(odd)).toBe(false);
    for (const [x, fused] of [
      [fits, true],
      [odd, false],
    ] as const) {
      const h = x.shape[1]!;
      const xs = tf.randomNormal(x.shape, 0, 1, 'float32', h);
      const g = tf.randomNormal([h], 1, 0.3, 'float32', h + 1);
      const b = tf.randomNormal([h], 0, 0.3, 'float32', h + 2);
      const calls = fusedKernelCalls();
      const y = layerNorm(xs, g, b, 1e-12);
      expect(fusedKernelCalls() > calls).toBe(fused);
      useFusedKernels(false);
      const z = layerNorm(xs, g, b, 1e-12);
      useFusedKernels(true);
      expectClose(y.dataSync(), z.dataSync(), 2e-6, `h ${h}`);
      tf.dispose([xs, g, b, y, z]);
    }
    tf.dispose([fits, odd]);
  });
});

describe('fused GELU on wasm', () => {
  const gelu = (x: tf.Tensor) => x.mul(0.5).mul(tf.erf(x.mul(Math.SQRT1_2)).add(1));

  it('is bit-identical to the composition it replaces, for every tail length', () => {
    for (const len of [1, 2, 3, 4, 5, 7, 9, 1031]) {
      const x = tf.randomNormal([len], 0, 3, 'float32', len);
      const y = fusedGelu(x);
      const z = gelu(x);
      expect(sameBits(y, z), `length ${len}`).toBe(true);
      tf.dispose([x, y, z]);
    }
  });

  it('its gradient matches the float64 derivative, for every tail length', () => {
    for (const len of [1, 3, 5, 8, 2001]) {
      const xs = Float32Array.from({ length: len }, (_, i) => -7 + (14 * i) / Math.max(1, len - 1));
      const x = tf.tensor1d(xs);
      const w = tf.randomNormal([len], 0, 1, 'float32', len + 1);
      const before = tf.memory().numTensors;
      const dx = tf.grad((a: tf.Tensor) => fusedGelu(a).mul(w).sum())(x);
      expect(tf.memory().numTensors).toBe(before + 1);
      const wv = w.dataSync();
      const want = Array.from(xs, (v, i) => {
        const d =
          0.5 * (1 + erf64(v / Math.SQRT2)) + (v / Math.sqrt(2 * Math.PI)) * Math.exp((-v * v) / 2);
        return wv[i] * d;
      });
      const got = dx.dataSync();
      // Per element: within 1e-6 of |w| (the derivative is at most ~1.13; float32 rounding of
      // erf near +-1 and of the exp term).
      want.forEach((v, i) =>
        expect(Math.abs(got[i] - v), `x ${xs[i]}`).toBeLessThan(
          1e-6 * Math.max(1, Math.abs(wv[i])),
        ),
      );
      tf.dispose([x, w, dx]);
    }
  });
});

/** float64 y = x W + b and, for the upstream gradient w, dx = w W^T, dW = x^T w, db = sum w. */
function dense64(x: Float32Array, W: Float32Array, b: Float32Array, w: Float32Array, k: number) {
  const n = b.length;
  const rows = x.length / k;
  const y = new Float64Array(rows * n);
  const dx = new Float64Array(rows * k);
  const dW = new Float64Array(k * n);
  const db = new Float64Array(n);
  for (let r = 0; r < rows; r++)
    for (let j = 0; j < n; j++) {
      let s = b[j];
      for (let p = 0; p < k; p++) {
        s += x[r * k + p] * W[p * n + j];
        dx[r * k + p] += w[r * n + j] * W[p * n + j];
        dW[p * n + j] += x[r * k + p] * w[r * n + j];
      }
      y[r * n + j] = s;
      db[j] += w[r * n + j];
    }
  return { y, dx, dW, db };
}

describe('fused dense layer on wasm', () => {
  it.each([
    [[4, 33, 64], 16],
    [[16, 128], 32],
    [[3, 5, 7], 9], // odd sizes: every column stage and tail
    [[1, 1, 4], 1],
  ] as const)('x %j, %d outputs: forward and gradients match float64', (xs, n) => {
    const k = xs[xs.length - 1];
    const seed = (xs as readonly number[]).reduce((a, b) => a * 5 + b, n as number);
    const x = tf.randomNormal([...xs], 0, 1, 'float32', seed);
    const W = tf.randomNormal([k, n], 0, 0.3, 'float32', seed + 1);
    const b = tf.randomNormal([n], 0, 1, 'float32', seed + 2);
    const w = tf.randomNormal([...xs.slice(0, -1), n], 0, 1, 'float32', seed + 3);
    const before = tf.memory().numTensors;
    const y = fusedDense(x, W, b);
    expect(y.shape).toEqual([...xs.slice(0, -1), n]);
    const [dx, dW, db] = tf.grads((a: tf.Tensor, c: tf.Tensor, d: tf.Tensor) =>
      fusedDense(a, c, d).mul(w).sum(),
    )([x, W, b]);
    const ref = dense64(f32(x), f32(W), f32(b), f32(w), k);
    expectClose(y.dataSync(), ref.y, 1e-5, 'y');
    expectClose(dx.dataSync(), ref.dx, 1e-5, 'dx');
    expectClose(dW.dataSync(), ref.dW, 1e-5, 'dW');
    expectClose(db.dataSync(), ref.db, 1e-5, 'db');
    expect(dx.shape).toEqual(x.shape);
    tf.dispose([y, dx, dW, db]);
    expect(tf.memory().numTensors).toBe(before);
    tf.dispose([x, W, b, w]);
  });

  it('adds residuals in order, with dy as their gradient', () => {
    const x = tf.randomNormal([2, 5, 8], 0, 1, 'float32', 11);
    const W = tf.randomNormal([8, 12], 0, 0.3, 'float32', 12);
    const b = tf.randomNormal([12], 0, 1, 'float32', 13);
    const r0 = tf.randomNormal([2, 5, 12], 0, 1, 'float32', 14);
    const r1 = tf.randomNormal([2, 5, 12], 0, 1, 'float32', 15);
    const w = tf.randomNormal([2, 5, 12], 0, 1, 'float32', 16);
    const before = tf.memory().numTensors;
    const y = fusedDense(x, W, b, [r0, r1]);
    // The same bits as adding after (IEEE addition commutes; the order is kept).
    const want = tf.tidy(() => fusedDense(x, W, b).add(r0).add(r1));
    expect(sameBits(y, want)).toBe(true);
    const [g0, g1, gx] = tf.grads((a: tf.Tensor, c: tf.Tensor, d: tf.Tensor) =>
      fusedDense(d, W, b, [a, c]).mul(w).sum(),
    )([r0, r1, x]);
    expect(sameBits(g0, w)).toBe(true);
    expect(sameBits(g1, w)).toBe(true);
    const gxWant = tf.tidy(() => tf.grad((d: tf.Tensor) => fusedDense(d, W, b).mul(w).sum())(x));
    expect(sameBits(gx, gxWant)).toBe(true);
    tf.dispose([y, want, g0, g1, gx, gxWant]);
    expect(tf.memory().numTensors).toBe(before);
    expect(() => fusedDense(x, W, b, [tf.zeros([2, 5, 11])])).toThrow(/residual 0/);
    tf.dispose([x, W, b, r0, r1, w]);
  });

  it('without a bias; computes only the gradients asked for (a frozen kernel has no dW)', async () => {
    const x = tf.randomNormal([6, 8], 0, 1, 'float32', 3);
    const W = tf.randomNormal([8, 4], 0, 1, 'float32', 4);
    const ref = tf.matMul(x as tf.Tensor2D, W as tf.Tensor2D);
    expectClose(fusedDense(x, W).dataSync(), ref.dataSync(), 1e-6, 'y');
    let dx: tf.Tensor | undefined;
    const prof = await tf.profile(() => {
      dx = tf.grad((a: tf.Tensor) => fusedDense(a, W).sum())(x);
    });
    const names = prof.kernels.map((kk) => kk.name);
    expect(names).toContain('FocusDenseGradX');
    expect(names).not.toContain('FocusDenseGradW');
    expect(names).not.toContain('FocusColSum');
    const want = tf.matMul(tf.onesLike(ref) as tf.Tensor2D, W as tf.Tensor2D, false, true);
    expectClose(dx!.dataSync(), want.dataSync(), 1e-6, 'dx');
    expect(() => fusedDense(x, tf.zeros([7, 4]))).toThrow(/does not match kernel/);
    tf.dispose([x, W, ref, dx!, want]);
  });
});

/** float64 softmax(s scale + bias) per row and, for upstream w, its gradient in s. */
function softmax64(
  s: Float32Array,
  bias: Float32Array,
  w: Float32Array,
  rowsPerBias: number,
  n: number,
  scale: number,
) {
  const rows = s.length / n;
  const y = new Float64Array(s.length);
  const ds = new Float64Array(s.length);
  for (let r = 0; r < rows; r++) {
    const b = Math.floor(r / rowsPerBias) * n;
    const z = Array.from({ length: n }, (_, j) => s[r * n + j] * scale + bias[b + j]);
    const m = Math.max(...z);
    const e = z.map((v) => Math.exp(v - m));
    const sum = e.reduce((a, v) => a + v, 0);
    let dot = 0;
    for (let j = 0; j < n; j++) {
      y[r * n + j] = e[j] / sum;
      dot += w[r * n + j] * y[r * n + j];
    }
    for (let j = 0; j < n; j++) ds[r * n + j] = scale * y[r * n + j] * (w[r * n + j] - dot);
  }
  return { y, ds };
}

describe('fused attention softmax on wasm', () => {
  it.each([
    [2, 4, 33, 33],
    [3, 2, 5, 7], // rows shorter than and not a multiple of 4
    [1, 1, 3, 1],
    [2, 3, 4, 8],
  ])('scores [%d, %d, %d, %d]: softmax and gradient match float64', (b, h, q, n) => {
    const seed = b * 1000 + h * 100 + q * 10 + n;
    const s = tf.randomNormal([b, h, q, n], 0, 3, 'float32', seed);
    // A padding bias as forward.ts builds it: 0 or -1e9 per key position and sample.
    const mask = tf.tidy(() => tf.randomUniform([b, 1, 1, n], 0, 1, 'float32', seed + 1).less(0.3));
    const bias = tf.tidy(() => mask.cast('float32').mul(-1e9));
    const w = tf.randomNormal([b, h, q, n], 0, 1, 'float32', seed + 2);
    const scale = 0.25;
    expect(fusedSoftmaxFits(s, bias)).toBe(true);
    const before = tf.memory().numTensors;
    const y = fusedScaledSoftmax(s, bias, scale);
    const ds = tf.grad((a: tf.Tensor) => fusedScaledSoftmax(a, bias, scale).mul(w).sum())(s);
    const ref = softmax64(f32(s), f32(bias), f32(w), h * q, n, scale);
    expectClose(y.dataSync(), ref.y, 1e-6, 'y');
    expectClose(ds.dataSync(), ref.ds, 1e-5, 'ds');
    // The bias's gradient (never needed by training, given for completeness): the sum of
    // d(s scale + bias) over heads and query rows.
    const [ds2, db] = tf.grads((a: tf.Tensor, c: tf.Tensor) =>
      fusedScaledSoftmax(a, c, scale).mul(w).sum(),
    )([s, bias]);
    const dbRef = new Float64Array(b * n);
    ref.ds.forEach((v, i) => (dbRef[Math.floor(i / (h * q * n)) * n + (i % n)] += v / scale));
    expect(db.shape).toEqual(bias.shape);
    expectClose(db.dataSync(), dbRef, 1e-5, 'dbias');
    expectClose(ds2.dataSync(), ref.ds, 1e-5, 'ds (both)');
    tf.dispose([ds2, db]);
    // The composition it replaces, on the same backend.
    const z = tf.tidy(() => tf.softmax(s.mul(scale).add(bias), -1));
    expectClose(y.dataSync(), z.dataSync(), 1e-6, 'vs tf.softmax');
    tf.dispose([y, ds, z]);
    expect(tf.memory().numTensors).toBe(before);
    tf.dispose([s, mask, bias, w]);
  });

  it('rejects a bias that is not [b, 1, 1, n]', () => {
    const s = tf.zeros([2, 2, 3, 3]);
    const bias = tf.zeros([2, 1, 3, 3]);
    expect(fusedSoftmaxFits(s, bias)).toBe(false);
    expect(() => fusedScaledSoftmax(s, bias, 1)).toThrow(/must be \[b, h, q, n\]/);
    tf.dispose([s, bias]);
  });
});

describe('fused per-head attention products on wasm', () => {
  /** [n, L, H] -> [n, heads, L, d] and back, as forward.ts's composition does. */
  const split = (x: tf.Tensor, heads: number) => {
    const [n, L, H] = x.shape;
    return x.reshape([n, L, heads, H / heads]).transpose([0, 2, 1, 3]);
  };
  const merge = (x: tf.Tensor) => {
    const [n, heads, L, d] = x.shape;
    return x.transpose([0, 2, 1, 3]).reshape([n, L, heads * d]);
  };
  /** Each form as the composition it replaces (tf.matMul on the heads: the SIMD BatchMatMul). */
  const composed = {
    abT: (a: tf.Tensor, b: tf.Tensor, h: number) =>
      tf.matMul(split(a, h), split(b, h), false, true),
    ab: (a: tf.Tensor, b: tf.Tensor, h: number) => merge(tf.matMul(a, split(b, h))),
    aTb: (a: tf.Tensor, b: tf.Tensor, h: number) => merge(tf.matMul(a, split(b, h), true, false)),
  };
  const bitsOf = (t: tf.Tensor) => Array.from(new Uint32Array(t.dataSync().slice().buffer));

  it.each([
    [2, 33, 64, 4], // tiny's attention: L = 33 (an odd row count), d = 16
    [3, 5, 12, 4], // d = 3: the product's 1-column stage only
    [1, 7, 40, 2], // d = 20: the 16-, 4- and 1-column stages
  ])(
    'n %d, L %d, H %d, %d heads: every form and its gradients are the composition, bit for bit',
    (n, L, H, heads) => {
      const seed = n * 100 + L + H;
      const q = tf.randomNormal([n, L, H], 0, 1, 'float32', seed);
      const k = tf.randomNormal([n, L, H], 0, 1, 'float32', seed + 1);
      const p = tf.tidy(() =>
        tf.softmax(tf.randomNormal([n, heads, L, L], 0, 2, 'float32', seed + 2)),
      );
      const before = tf.memory().numTensors;
      const calls = fusedKernelCalls();
      for (const form of ['abT', 'ab', 'aTb'] as const) {
        const a = form === 'abT' ? q : p;
        const w = tf.randomNormal(
          form === 'abT' ? [n, heads, L, L] : [n, L, H],
          0,
          1,
          'float32',
          seed + 3,
        );
        const loss = (f: typeof composed.ab) => (x: tf.Tensor, y: tf.Tensor) =>
          f(x, y, heads).mul(w).sum();
        const fused = (x: tf.Tensor, y: tf.Tensor, h: number) => fusedHeadMatMul(x, y, h, form);
        const y1 = fused(a, k, heads);
        const y0 = tf.tidy(() => composed[form](a, k, heads));
        expect(y1.shape).toEqual(y0.shape);
        expect(bitsOf(y1)).toEqual(bitsOf(y0));
        const [da1, db1] = tf.grads(loss(fused))([a, k]);
        const [da0, db0] = tf.grads(loss(composed[form]))([a, k]);
        expect(bitsOf(da1)).toEqual(bitsOf(da0));
        expect(bitsOf(db1)).toEqual(bitsOf(db0));
        tf.dispose([w, y1, y0, da1, db1, da0, db0]);
      }
      expect(fusedKernelCalls()).toBeGreaterThan(calls);
      expect(tf.memory().numTensors).toBe(before);
      tf.dispose([q, k, p]);
    },
  );

  it('rejects operands of the wrong layout, naming the form', () => {
    const x = tf.zeros([2, 3, 8]);
    const s = tf.zeros([2, 4, 3, 3]);
    expect(() => fusedHeadMatMul(x, x, 3, 'abT')).toThrow(/'abT'.*multiple of 3/);
    expect(() => fusedHeadMatMul(x, x, 4, 'ab')).toThrow(/'ab'.*\[n, 4, L, L\]/);
    expect(() => fusedHeadMatMul(s, tf.zeros([2, 5, 8]), 4, 'aTb')).toThrow(/'aTb'/);
    expect(fusedHeadMatMul(s, x, 4, 'ab').shape).toEqual([2, 3, 8]);
    tf.dispose([x, s]);
  });
});

describe('fused AdamW on wasm', () => {
  it('three updates are bit-identical to the tfjs composition, every tensor in one kernel', () => {
    const shapes = [[5, 7], [16], [3], [64, 16], [1]];
    const run = (fused: boolean) => {
      useFusedKernels(fused);
      const vars: Record<string, tf.Variable> = {};
      shapes.forEach(
        (s, i) =>
          (vars[`t${i}`] = tf.tidy(() => tf.variable(tf.randomNormal(s, 0, 1, 'float32', i + 1)))),
      );
      const opt = new AdamW({ lr: 3e-3, weightDecay: 0.01 });
      const calls = fusedKernelCalls();
      for (let step = 0; step < 3; step++) {
        const grads: Record<string, tf.Tensor> = {};
        shapes.forEach(
          (s, i) => (grads[`t${i}`] = tf.randomNormal(s, 0, 0.1, 'float32', 100 * step + i + 1)),
        );
        opt.step(vars, grads, step === 2 ? 1e-3 : undefined);
        tf.dispose(Object.values(grads));
      }
      expect(fusedKernelCalls() - calls).toBe(fused ? 3 : 0);
      opt.dispose();
      useFusedKernels(true);
      return vars;
    };
    const before = tf.memory().numTensors;
    const a = run(true);
    const b = run(false);
    for (const k of Object.keys(a)) expect(sameBits(a[k], b[k]), k).toBe(true);
    tf.dispose([...Object.values(a), ...Object.values(b)]);
    expect(tf.memory().numTensors).toBe(before);
  });

  it('rejects slots of mismatched shape or dtype, naming the slot', () => {
    const p = tf.zeros([3]);
    const bad = tf.zeros([4]);
    const scalars = {
      b1: 0.9,
      c1: 0.1,
      b2: 0.999,
      c2: 0.001,
      bc1: 0.1,
      bc2: 0.001,
      eps: 1e-8,
      wd: 0,
      lr: 1,
    };
    expect(() => fusedAdamW([{ p, m: p, v: p, g: bad }], scalars)).toThrow(/g of slot 0/);
    tf.dispose([p, bad]);
  });
});
