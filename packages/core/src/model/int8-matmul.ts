// x @ W (or x @ W^T) for a frozen int8 weight W [K, N] (per-output-column fp32 scales,
// ./quantize.ts), without an fp32 copy of W in memory (model/README.md, "int8 in memory").
//
// - webgpu, `device` storage (./int8-store.ts: three int8 values packed per float32): one fused
//   tfjs kernel, `Int8DequantMatMul`, registered for the webgpu backend. A WebGPU program tiles
//   the product in 16 x 16 workgroup tiles; each thread unpacks the one weight of its tile it
//   loads, w = (u - 128) * scale in float32 (the same rounding as the host path), and the
//   products are summed in float32 in k order. W never exists as fp32 outside one tile.
// - every other backend or storage: plain ops, tf.matMul(x, dequantize(W)) — the weight is
//   dequantized just in time into a tensor of the caller's scope, as before.
//
// Tolerance (the fused kernel against an exact reference; test/int8-matmul.test.ts,
// e2e/int8-matmul.e2e.ts): both compute sum_k x_k w_k with the same float32 w_k, only the
// summation differs, so per output element |fused - exact| <= K * 2^-24 * sum_k |x_k w_k|
// (the classic bound gamma_K of a float32 dot product of length K; `dotErrorBound`).
//
// The gradient (dx = dy @ W^T, or dy @ W for the transposed product) is the same kernel with
// the other orientation, so backward passes through frozen blocks stay fused, and the op stays
// differentiable to any order. W and its scales are constants: no gradient flows to them.
import * as tf from '@tensorflow/tfjs';
import type { Int8Weight } from './int8-store.js';

export const INT8_MATMUL_KERNEL = 'Int8DequantMatMul';

/** The device tensors of a `device` int8 weight (./int8-store.ts). */
export interface PackedInt8 {
  /** ceil(K N / 3) float32, three int8 values (u = q + 128) packed per value. */
  packed: tf.Tensor1D;
  /** [1, N] per-output-column scales. */
  scales: tf.Tensor2D;
  shape: [number, number];
}

const TILE = 16;

/**
 * The subset of tfjs-backend-webgpu's WebGPUProgram (dist/webgpu_program.d.ts, tfjs 4.22) this
 * program fills in; core does not depend on the webgpu package (only the app bundles it).
 */
interface WebGPUProgramLike {
  variableNames: string[];
  outputShape: number[];
  shaderKey: string;
  dispatchLayout: { x: number[]; y?: number[] };
  dispatch: [number, number, number];
  workgroupSize: [number, number, number];
  uniforms?: string;
  getUserCode(): string;
}

interface WebGPUBackendLike {
  runWebGPUProgram(
    program: WebGPUProgramLike,
    inputs: tf.TensorInfo[],
    outputDtype: tf.DataType,
    uniforms?: { type: string; data: number[] }[],
  ): tf.TensorInfo;
}

/**
 * out [M, outer] = A [M, inner] @ B, with B[i, j] = W[i, j] (transposeW false: inner = K,
 * outer = N) or W[j, i] (true: inner = N, outer = K); W is [K, N] row-major, packed.
 */
class Int8DequantMatMulProgram implements WebGPUProgramLike {
  variableNames = ['A', 'Q', 'S'];
  outputShape: number[];
  shaderKey: string;
  dispatchLayout = { x: [1], y: [0] };
  dispatch: [number, number, number];
  workgroupSize: [number, number, number] = [TILE, TILE, 1];
  uniforms = 'dimM : i32, dimInner : i32, dimOuter : i32, wCols : i32,';

  constructor(
    m: number,
    outer: number,
    private readonly transposeW: boolean,
  ) {
    this.outputShape = [m, outer];
    this.dispatch = [Math.ceil(outer / TILE), Math.ceil(m / TILE), 1];
    this.shaderKey = `int8DequantMatMul_${transposeW}`;
  }

  getUserCode(): string {
    // B[i, j] from W [K, N]: element (k, n) of W is packed value (k N + n) / 3, byte (k N + n) % 3.
    const wIndex = this.transposeW ? 'j * uniforms.wCols + i' : 'i * uniforms.wCols + j';
    const scaleIndex = this.transposeW ? 'i' : 'j';
    // `fn main()` is tfjs's getMainHeaderString() for a non-flat dispatch (webgpu_program.ts).
    return `
      var<workgroup> tileA : array<array<f32, ${TILE}>, ${TILE}>;
      var<workgroup> tileB : array<array<f32, ${TILE}>, ${TILE}>;

      fn readB(i : i32, j : i32) -> f32 {
        let w = ${wIndex};
        let p = u32(Q[w / 3]);
        let u = (p >> (8u * u32(w % 3))) & 255u;
        return f32(i32(u) - 128) * S[${scaleIndex}];
      }

      fn main() {
        let row = i32(globalId.y);
        let col = i32(globalId.x);
        let ly = i32(localId.y);
        let lx = i32(localId.x);
        let tiles = (uniforms.dimInner + ${TILE - 1}) / ${TILE};
        var acc = 0.0;
        for (var t = 0; t < tiles; t = t + 1) {
          let ka = t * ${TILE} + lx;
          var a = 0.0;
          if (row < uniforms.dimM && ka < uniforms.dimInner) {
            a = A[row * uniforms.dimInner + ka];
          }
          tileA[ly][lx] = a;
          let kb = t * ${TILE} + ly;
          var b = 0.0;
          if (kb < uniforms.dimInner && col < uniforms.dimOuter) {
            b = readB(kb, col);
          }
          tileB[ly][lx] = b;
          workgroupBarrier();
          for (var k = 0; k < ${TILE}; k = k + 1) {
            acc = acc + tileA[ly][k] * tileB[k][lx];
          }
          workgroupBarrier();
        }
        if (row < uniforms.dimM && col < uniforms.dimOuter) {
          setOutputAtIndex(row * uniforms.dimOuter + col, acc);
        }
      }
    `;
  }
}

interface KernelAttrs {
  transposeW: boolean;
  wRows: number;
  wCols: number;
}

tf.registerKernel({
  kernelName: INT8_MATMUL_KERNEL,
  backendName: 'webgpu',
  kernelFunc: ({ inputs, backend, attrs }) => {
    const { a, packed, scales } = inputs as Record<string, tf.TensorInfo>;
    const { transposeW, wRows, wCols } = attrs as unknown as KernelAttrs;
    const [m, inner] = a.shape;
    const outer = transposeW ? wRows : wCols;
    const program = new Int8DequantMatMulProgram(m, outer, transposeW);
    return (backend as unknown as WebGPUBackendLike).runWebGPUProgram(
      program,
      [a, packed, scales],
      'float32',
      // One entry per scalar: an entry of 4 values would be laid out as an aligned vec4.
      [m, inner, outer, wCols].map((v) => ({ type: 'int32', data: [v] })),
    );
  },
});

/** Fused products run so far (tests check the fused path was the one taken). */
let fusedCalls = 0;
export function fusedInt8MatMulCalls(): number {
  return fusedCalls;
}

/** Whether `int8MatMul` of this weight runs the fused kernel on the current backend. */
export function fusedInt8Available(w: Int8Weight): boolean {
  return (
    tf.getBackend() === 'webgpu' &&
    w.packedDevice() !== undefined &&
    tf.getKernel(INT8_MATMUL_KERNEL, 'webgpu') !== undefined
  );
}

function fused(x: tf.Tensor2D, p: PackedInt8, transposeW: boolean): tf.Tensor2D {
  const run = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const a = args[0] as tf.Tensor2D;
    fusedCalls++;
    const attrs: KernelAttrs = { transposeW, wRows: p.shape[0], wCols: p.shape[1] };
    const value = tf
      .engine()
      .runKernel(
        INT8_MATMUL_KERNEL,
        { a, packed: p.packed, scales: p.scales },
        attrs as unknown as tf.NamedAttrMap,
      ) as tf.Tensor2D;
    // d(a B)/da = dy B^T: the same weight in the other orientation.
    return { value, gradFunc: (dy: tf.Tensor) => [fused(dy as tf.Tensor2D, p, !transposeW)] };
  }) as (a: tf.Tensor2D) => tf.Tensor2D;
  return run(x);
}

/**
 * x [M, K] @ W [K, N] (or, `transposeW`, x [M, N] @ W^T): fused on webgpu for `device`
 * storage, plain ops otherwise. The result belongs to the caller's scope.
 */
export function int8MatMul(x: tf.Tensor2D, w: Int8Weight, transposeW = false): tf.Tensor2D {
  if (x.rank !== 2) throw new Error(`int8MatMul: x must be 2-D, got shape [${x.shape}]`);
  if (w.axis !== 1)
    throw new Error('int8MatMul: the weight must be quantized per output column (axis 1)');
  const [K, N] = w.shape;
  const inner = transposeW ? N : K;
  if (x.shape[1] !== inner)
    throw new Error(
      `int8MatMul: x [${x.shape}] does not match W${transposeW ? '^T' : ''} of W [${K}, ${N}]`,
    );
  if (x.dtype !== 'float32') throw new Error(`int8MatMul: x must be float32, got ${x.dtype}`);
  const p = fusedInt8Available(w) ? w.packedDevice() : undefined;
  if (p) return fused(x, p, transposeW);
  return tf.tidy(() => tf.matMul(x, w.dequantize(), false, transposeW));
}

/**
 * The bound on |computed - exact| of each element of A @ B in float32 (see the file comment):
 * K * 2^-24 * sum_k |a_k b_k|, from the exact |A| @ |B| in float64.
 */
export function dotErrorBound(
  a: Float64Array | Float32Array,
  b: Float64Array | Float32Array,
  m: number,
  k: number,
  n: number,
): Float64Array {
  const out = new Float64Array(m * n);
  const u = k * 2 ** -24;
  for (let i = 0; i < m; i++)
    for (let j = 0; j < n; j++) {
      let s = 0;
      for (let t = 0; t < k; t++) s += Math.abs(a[i * k + t] * b[t * n + j]);
      out[i * n + j] = u * s;
    }
  return out;
}
