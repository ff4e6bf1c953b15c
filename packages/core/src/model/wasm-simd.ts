// WebAssembly SIMD kernels for the wasm backend: a batched matrix product (attention's small
// per-head products), erf (the exact GELU of every block) and exp (erf's gradient, the loss).
//
// Batched product.
// tfjs-backend-wasm 4.22 sends only un-batched, untransposed 2-D products to XNNPACK; a batched
// BatchMatMul (attention's Q K^T and P V, [n x heads, 33, 16] for `tiny`) runs a scalar loop
// at ~1-2 GFLOP/s, ~40 % of a training step's kernel time (bench/train.bench.ts). This module
// is one function, emitted below as WebAssembly bytes, that works in the backend's own memory
// (imported), so no tensor is copied:
//
//   bmm(a, b, c, batch, m, k, n, aStride, bStride, ai, ap):  for each batch index t,
//     C[t] (m x n) = A[t] (m x k) @ B[t] (k x n)     row-major float32; pointers and per-batch
//                                                   strides in bytes (0 = broadcast); A[t]'s
//                                                   element (i, p) at i * ai + p * ap, so A
//                                                   may be given transposed
//
// Each row of C is computed 16 columns at a time with four f32x4 accumulators that stay in
// registers over the whole sum on p (the inner loop only loads B), then 4 columns, then one:
// every element is 0 + A[i,0] B[0,j] + A[i,1] B[1,j] + ... in the order of p, as float32
// multiplies and adds (no fused multiply-add), so results are deterministic and do not depend
// on which stage computed a column.
//
// erf(x, y, count): y = erf(x) elementwise, four lanes at a time. tfjs-backend-wasm's scalar
// Erf costs ~10 multiplies' worth per element (0.7 ms for one [16, 33, 128] GELU input, ~7 % of
// a training step). This one is the rational approximation of Eigen / TensorFlow
// (`generic_fast_erf_float`): x clamped to [-4, 4] (erf is +-1 in float32 beyond), then
// erf(x) = x P(x^2) / Q(x^2) with P of degree 6 and Q of degree 4; its error is 6.5e-8 in
// exact arithmetic and at most 3.1e-7 in float32 on [-6, 6] (a few ulps near +-1; the backend's
// scalar erf: 4.3e-8), checked against a float64 erf in test/model-wasm-kernels.test.ts.
//
// exp(x, y, count): Cephes' expf (EXP_POLY below), within 1 float32 ulp (7.7e-8 relative) on
// normal results; +inf / 0 / NaN where the backend gives them.
//
// No toolchain is needed: the bytes are written opcode by opcode (wasm-asm.ts).

import {
  f32Address,
  fnType,
  instantiateOn,
  kernelModule,
  addr,
  erfOfStack,
  expOfStack,
  F32,
  forUp,
  I32,
  op,
  uleb,
  V128,
  vec,
} from './wasm-asm.js';

export { ERF_DENOMINATOR, ERF_NUMERATOR, EXP_POLY } from './wasm-asm.js';

// Parameters 0..8, then locals.
const [A, B, C, BATCH, M, K, N, AS, BS] = [0, 1, 2, 3, 4, 5, 6, 7, 8];
/** A[t] element (i, p) at a + t * aStride + (i * AI + p * AP) * 4: (k, 1), or (1, m) when A is
 * given transposed ([k, m] in memory), which then needs no copy. */
const [AI, AP] = [9, 10];
const [T, I, P, J, AROW, BROW, CROW] = [11, 12, 13, 14, 15, 16, 17];
const SACC = 18; // f32: accumulator of a single column
const AV = 19; // v128: A[i, p] in every lane
const ACC = [20, 21, 22, 23]; // v128: up to four accumulators (16 columns)

/** Address of A[t][i, p]: arow + (p * AP << 2). */
const elemOfA = f32Address(op.get(AROW), [...op.get(P), ...op.get(AP), ...op.mul]);

/** brow = b + t * bStride + ((p * n + j) << 2): row p of B[t] at column j. */
const rowOfB = [
  ...op.get(B),
  ...op.get(T),
  ...op.get(BS),
  ...op.mul,
  ...op.add,
  ...op.get(P),
  ...op.get(N),
  ...op.mul,
  ...op.get(J),
  ...op.add,
  ...op.i32(2),
  ...op.shl,
  ...op.add,
  ...op.set(BROW),
];

/**
 * while (j + width <= n): C[i, j .. j+width) = sum over p (in order) of A[i, p] B[p, j ..),
 * the sum kept in registers (width / 4 vector accumulators, or one f32 when width is 1);
 * then j += width.
 */
function columnStage(width: 16 | 4 | 1): number[] {
  const accs = width === 16 ? ACC : width === 4 ? ACC.slice(0, 1) : [];
  const reset =
    width === 1
      ? [...op.f32Const(0), ...op.set(SACC)]
      : accs.flatMap((acc) => [...op.zero, ...op.set(acc)]);
  const step =
    width === 1
      ? [
          ...op.get(SACC),
          ...elemOfA,
          ...op.f32Load,
          ...op.get(BROW),
          ...op.f32Load,
          ...op.f32Mul,
          ...op.f32Add,
          ...op.set(SACC),
        ]
      : [
          ...elemOfA,
          ...op.f32Load,
          ...op.splat,
          ...op.set(AV),
          ...accs.flatMap((acc, q) => [
            ...op.get(acc),
            ...op.get(AV),
            ...op.get(BROW),
            ...op.v128LoadAt(16 * q),
            ...op.f32x4Mul,
            ...op.f32x4Add,
            ...op.set(acc),
          ]),
        ];
  const store =
    width === 1
      ? [...addr(CROW, op.get(J)), ...op.get(SACC), ...op.f32Store]
      : accs.flatMap((acc, q) => [
          ...addr(CROW, op.get(J)),
          ...op.get(acc),
          ...op.v128StoreAt(16 * q),
        ]);
  return [
    ...op.block,
    ...op.loop,
    ...op.get(J),
    ...op.i32(width),
    ...op.add,
    ...op.get(N),
    ...op.gtU,
    ...op.brIf(1),
    ...reset,
    ...forUp(P, op.get(K), [...rowOfB, ...step]),
    ...store,
    ...op.get(J),
    ...op.i32(width),
    ...op.add,
    ...op.set(J),
    ...op.br(0),
    ...op.end,
    ...op.end,
  ];
}

function bmmBody(): number[] {
  const overI = forUp(I, op.get(M), [
    // crow = c + ((t * m + i) * n << 2)
    ...op.get(C),
    ...op.get(T),
    ...op.get(M),
    ...op.mul,
    ...op.get(I),
    ...op.add,
    ...op.get(N),
    ...op.mul,
    ...op.i32(2),
    ...op.shl,
    ...op.add,
    ...op.set(CROW),
    // arow = a + t * aStride + (i * AI << 2)
    ...op.get(A),
    ...op.get(T),
    ...op.get(AS),
    ...op.mul,
    ...op.add,
    ...f32Address([], [...op.get(I), ...op.get(AI), ...op.mul]),
    ...op.set(AROW),
    // Columns in blocks of 16, then of 4, then one by one.
    ...op.i32(0),
    ...op.set(J),
    ...columnStage(16),
    ...columnStage(4),
    ...columnStage(1),
  ]);
  const code = forUp(T, op.get(BATCH), overI);
  const locals = vec([
    [...uleb(7), I32],
    [...uleb(1), F32],
    [...uleb(5), V128],
  ]);
  const fn = [...locals, ...code, ...op.end];
  return [...uleb(fn.length), ...fn];
}

// Locals of an element-wise function (x, y, count): an index, then v128 temporaries.
const [UX, UY, UCOUNT, UIDX] = [0, 1, 2, 3];
const [V, X2, R, KF] = [4, 5, 6, 7];

function elementwiseBody(ofStack: number[]): number[] {
  const vectorPart = [
    ...op.i32(0),
    ...op.set(UIDX),
    ...op.block,
    ...op.loop,
    ...op.get(UIDX),
    ...op.i32(4),
    ...op.add,
    ...op.get(UCOUNT),
    ...op.gtU,
    ...op.brIf(1),
    ...addr(UY, op.get(UIDX)),
    ...addr(UX, op.get(UIDX)),
    ...op.v128Load,
    ...ofStack,
    ...op.v128Store,
    ...op.get(UIDX),
    ...op.i32(4),
    ...op.add,
    ...op.set(UIDX),
    ...op.br(0),
    ...op.end,
    ...op.end,
  ];
  // The last count % 4 elements one at a time (splat, compute, lane 0): same arithmetic.
  const tail = [
    ...op.block,
    ...op.loop,
    ...op.get(UIDX),
    ...op.get(UCOUNT),
    ...op.geU,
    ...op.brIf(1),
    ...addr(UY, op.get(UIDX)),
    ...addr(UX, op.get(UIDX)),
    ...op.f32Load,
    ...op.splat,
    ...ofStack,
    ...op.lane0,
    ...op.f32Store,
    ...op.get(UIDX),
    ...op.i32(1),
    ...op.add,
    ...op.set(UIDX),
    ...op.br(0),
    ...op.end,
    ...op.end,
  ];
  const locals = vec([
    [...uleb(1), I32],
    [...uleb(4), V128],
  ]);
  const fn = [...locals, ...vectorPart, ...tail, ...op.end];
  return [...uleb(fn.length), ...fn];
}

/** The module's bytes: imports env.memory (`shared`: see wasm-asm.ts kernelModule), exports bmm, erf and exp. */
export function simdModuleBytes(shared = false): Uint8Array<ArrayBuffer> {
  const i32s = (n: number) => new Array<number>(n).fill(I32);
  return kernelModule(
    [fnType(i32s(11)), fnType(i32s(3))],
    [
      ['bmm', 0, bmmBody()],
      ['erf', 1, elementwiseBody(erfOfStack(V, X2))],
      ['exp', 1, elementwiseBody(expOfStack(V, X2, R, KF))],
    ],
    shared,
  );
}

export type Bmm = (
  a: number,
  b: number,
  c: number,
  batch: number,
  m: number,
  k: number,
  n: number,
  aStride: number,
  bStride: number,
  /** Element (i, p) of A[t] at (i * aRowStep + p * aColStep): (k, 1) plain, (1, m) transposed. */
  aRowStep: number,
  aColStep: number,
) => void;

/** erf(x, y, count) / exp(x, y, count): byte pointers, element count. */
export type Elementwise = (x: number, y: number, count: number) => void;
export type Erf = Elementwise;

export interface SimdKernels {
  bmm: Bmm;
  erf: Elementwise;
  exp: Elementwise;
}

/**
 * Instantiates the kernels on `memory` (synchronously: the module is ~2.5 KB), a plain or a
 * shared one. Null when this engine lacks WebAssembly SIMD: callers keep the backend's own
 * kernels then. The kernels run on the calling thread only; tfjs runs one kernel at a time.
 */
export function instantiateSimd(memory: WebAssembly.Memory): SimdKernels | null {
  const exports = instantiateOn(memory, simdModuleBytes);
  if (!exports) return null;
  return {
    bmm: exports.bmm as Bmm,
    erf: exports.erf as Elementwise,
    exp: exports.exp as Elementwise,
  };
}
