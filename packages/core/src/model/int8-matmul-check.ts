// A self-check of int8MatMul (./int8-matmul.ts) on the current backend against an exact
// reference: seeded random x and W, W quantized per output column, the product and its input
// gradient computed by int8MatMul and, in float64, from the same dequantized float32 weights.
// Every element must lie within the documented bound K * 2^-24 * sum_k |x_k w_k|. The unit
// tests run it on cpu and wasm (plain-ops fallback), the WebGPU e2e test in a tab (fused).
import * as tf from '@tensorflow/tfjs';
import { mulberry32 } from '../random.js';
import { int8Weight, type Int8Storage } from './int8-store.js';
import { dotErrorBound, fusedInt8Available, int8MatMul } from './int8-matmul.js';
import { dequantizeInt8, quantizeInt8 } from './quantize.js';

export interface Int8MatMulCase {
  /** x [m, k] @ W [k, n] (transposeW: x [m, n] @ W^T, W still [k, n]). */
  m: number;
  k: number;
  n: number;
  transposeW?: boolean;
  seed: number;
}

export interface Int8MatMulCheck extends Int8MatMulCase {
  /** Whether the fused kernel ran (webgpu + device storage). */
  fused: boolean;
  /** max over elements of |computed - exact|, product and input gradient. */
  maxAbsErr: number;
  gradMaxAbsErr: number;
  /** max over elements of |computed - exact| / bound (<= 1 passes). */
  maxBoundRatio: number;
  gradMaxBoundRatio: number;
}

function uniform(n: number, rand: () => number): Float32Array {
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = 2 * rand() - 1;
  return out;
}

/** a [m, k] @ b [k, n] in float64. */
function exactMatMul(a: ArrayLike<number>, b: ArrayLike<number>, m: number, k: number, n: number) {
  const out = new Float64Array(m * n);
  for (let i = 0; i < m; i++)
    for (let t = 0; t < k; t++) {
      const x = a[i * k + t];
      for (let j = 0; j < n; j++) out[i * n + j] += x * b[t * n + j];
    }
  return out;
}

function transpose(a: Float32Array, r: number, c: number): Float32Array {
  const out = new Float32Array(r * c);
  for (let i = 0; i < r; i++) for (let j = 0; j < c; j++) out[j * r + i] = a[i * c + j];
  return out;
}

function compare(got: Float32Array, exact: Float64Array, bound: Float64Array) {
  let maxAbsErr = 0;
  let maxBoundRatio = 0;
  for (let i = 0; i < got.length; i++) {
    const e = Math.abs(got[i] - exact[i]);
    maxAbsErr = Math.max(maxAbsErr, e);
    maxBoundRatio = Math.max(maxBoundRatio, e === 0 ? 0 : e / bound[i]);
  }
  return { maxAbsErr, maxBoundRatio };
}

export async function checkInt8MatMul(
  cases: readonly Int8MatMulCase[],
  storage: Int8Storage | 'auto' = 'auto',
): Promise<Int8MatMulCheck[]> {
  const out: Int8MatMulCheck[] = [];
  for (const c of cases) {
    const { m, k, n } = c;
    const tw = c.transposeW ?? false;
    const rand = mulberry32(c.seed);
    const q = quantizeInt8(uniform(k * n, rand), [k, n], 1);
    const inner = tw ? n : k;
    const outer = tw ? k : n;
    const x = uniform(m * inner, rand);
    const r = uniform(m * outer, rand); // the upstream gradient dy
    const w = int8Weight(q, storage);
    try {
      const fused = fusedInt8Available(w);
      const [y, dx] = tf.tidy(() => {
        const xt = tf.tensor2d(x, [m, inner]);
        const rt = tf.tensor2d(r, [m, outer]);
        const yv = int8MatMul(xt, w, tw);
        // d/dx sum(y * r) = r B^T.
        const g = tf.grad((a: tf.Tensor) =>
          tf.sum(tf.mul(int8MatMul(a as tf.Tensor2D, w, tw), rt)),
        );
        return [yv, g(xt)];
      });
      const yData = (await y.data()) as Float32Array;
      const dxData = (await dx.data()) as Float32Array;
      tf.dispose([y, dx]);
      const W = dequantizeInt8(q); // [k, n], the float32 weights both paths use
      const B = tw ? transpose(W, k, n) : W; // [inner, outer]
      const Bt = transpose(B, inner, outer); // [outer, inner]
      const fwd = compare(
        yData,
        exactMatMul(x, B, m, inner, outer),
        dotErrorBound(x, B, m, inner, outer),
      );
      const bwd = compare(
        dxData,
        exactMatMul(r, Bt, m, outer, inner),
        dotErrorBound(r, Bt, m, outer, inner),
      );
      out.push({
        ...c,
        transposeW: tw,
        fused,
        maxAbsErr: fwd.maxAbsErr,
        maxBoundRatio: fwd.maxBoundRatio,
        gradMaxAbsErr: bwd.maxAbsErr,
        gradMaxBoundRatio: bwd.maxBoundRatio,
      });
    } finally {
      w.dispose();
    }
  }
  return out;
}
