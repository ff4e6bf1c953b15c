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
//   bmm(a, b, c, batch, m, k, n, aStride, bStride, ai, ap, br, cStride, cr):  for each t,
//     C[t] (m x n) = A[t] (m x k) @ B[t] (k x n)     float32; pointers and per-batch strides in
//                                                   bytes (0 = broadcast); A[t]'s element
//                                                   (i, p) at i * ai + p * ap (A may be given
//                                                   transposed), B[t]'s (p, j) at p * br + j,
//                                                   C[t]'s (i, j) at i * cr + j: row-major
//                                                   with (k, 1, n, m n 4, n) plain, or one
//                                                   head's columns of [n, L, H] in place
//
// Rows of C are computed two at a time (the last one alone when m is odd), 16 columns at a
// time with four f32x4 accumulators per row that stay in registers over the whole sum on p
// (each B vector loaded once for both rows), then 4 columns, then one: every element is
// 0 + A[i,0] B[0,j] + A[i,1] B[1,j] + ... in the order of p, as float32 multiplies and adds
// (no fused multiply-add), so results are deterministic and do not depend on which stage
// computed an element (test/model-wasm-kernels.test.ts checks the bits against that sum).
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
  I32,
  op,
  uleb,
  V128,
  vec,
} from './wasm-asm.js';

export { ERF_DENOMINATOR, ERF_NUMERATOR, EXP_POLY } from './wasm-asm.js';

// Parameters 0..13, then locals.
const [A, B, C, BATCH, M, K, N, AS, BS, AI, AP] = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10];
/** B[t]'s row p at p * BR elements, C[t]'s row i at i * CR (n, n when plain), C[t] at
 * c + t * cStride bytes: attention's per-head operands are read and written in place. */
const [BR, CS, CR] = [11, 12, 13];
/** Rows of C computed together: each B vector loaded serves both (bmmBody). */
const ROWS = 2;
// i32 locals: batch, row and column indices, the p counter; per batch the bases of A[t], B[t],
// C[t]; the byte steps of A's rows and columns and of B's and C's rows; the walking pointers
// into B and into each of the ROWS rows of A.
const [T, I, J, P, ABASE, BBASE, CBASE, AI4, AP4, BR4, CR4, PB] = [
  14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25,
];
const PA = [26, 27];
const SACC = [28, 29]; // f32: one column's accumulator per row
const SB = 30; // f32: B[p, j] of that column
const VA = 31; // v128: A[i, p] in every lane
const VB = [32, 33, 34, 35]; // v128: B[p, j .. j+16)
const VACC = [36, 37, 38, 39, 40, 41, 42, 43]; // v128: row r's q-th accumulator at 4 r + q
const LOCALS = { i32: 14, f32: 3, v128: 13 };

/** while (cond is false) { body }: the loop exits when `exit` pushes true. */
const until = (exit: number[], body: number[]) => [
  ...op.block,
  ...op.loop,
  ...exit,
  ...op.brIf(1),
  ...body,
  ...op.br(0),
  ...op.end,
  ...op.end,
];
const addTo = (l: number, v: number[]) => [...op.get(l), ...v, ...op.add, ...op.set(l)];
/** dst = base + t * stride: an operand's matrix of batch entry t. */
const batchBase = (dst: number, base: number, stride: number) => [
  ...op.get(base),
  ...op.get(T),
  ...op.get(stride),
  ...op.mul,
  ...op.add,
  ...op.set(dst),
];
const range = (n: number) => Array.from({ length: n }, (_, x) => x);

/**
 * For rows i .. i+rows of C: while (j + width <= n), C[i+r, j .. j+width) = sum over p (in
 * order) of A[i+r, p] B[p, j ..), kept in registers (width / 4 vector accumulators per row, or
 * one f32 when width is 1); then j += width. Each p loads B's width values once for all rows
 * and A[i+r, p] once per row (a splat load); the pointers into A and B step by A's column
 * step and B's row.
 */
function columnStage(rows: number, width: 16 | 4 | 1): number[] {
  const q = width / 4;
  const scalar = width === 1;
  const rs = range(rows);
  const reset = scalar
    ? rs.flatMap((r) => [...op.f32Const(0), ...op.set(SACC[r])])
    : range(rows * q).flatMap((x) => [
        ...op.zero,
        ...op.set(VACC[(x % q) + 4 * Math.floor(x / q)]),
      ]);
  const start = [
    // pa[r] = abase + (i + r) * ai * 4; pb = bbase + j * 4
    ...rs.flatMap((r) => [
      ...op.get(ABASE),
      ...op.get(I),
      ...op.i32(r),
      ...op.add,
      ...op.get(AI4),
      ...op.mul,
      ...op.add,
      ...op.set(PA[r]),
    ]),
    ...f32Address(op.get(BBASE), op.get(J)),
    ...op.set(PB),
  ];
  // acc = acc + A[i+r, p] B[p, j ..]: the product, then the add, as before tiling.
  const step = scalar
    ? [
        ...op.get(PB),
        ...op.f32Load,
        ...op.set(SB),
        ...rs.flatMap((r) => [
          ...op.get(SACC[r]),
          ...op.get(PA[r]),
          ...op.f32Load,
          ...op.get(SB),
          ...op.f32Mul,
          ...op.f32Add,
          ...op.set(SACC[r]),
        ]),
      ]
    : [
        ...range(q).flatMap((x) => [...op.get(PB), ...op.v128LoadAt(16 * x), ...op.set(VB[x])]),
        ...rs.flatMap((r) => [
          ...op.get(PA[r]),
          ...op.v128Load32Splat,
          ...op.set(VA),
          ...range(q).flatMap((x) => [
            ...op.get(VACC[4 * r + x]),
            ...op.get(VA),
            ...op.get(VB[x]),
            ...op.f32x4Mul,
            ...op.f32x4Add,
            ...op.set(VACC[4 * r + x]),
          ]),
        ]),
      ];
  const advance = [...rs.flatMap((r) => addTo(PA[r], op.get(AP4))), ...addTo(PB, op.get(BR4))];
  const sum = [
    ...op.i32(0),
    ...op.set(P),
    ...until(
      [...op.get(P), ...op.get(K), ...op.geU],
      [...step, ...advance, ...addTo(P, op.i32(1))],
    ),
  ];
  // C[i+r, j] at cbase + (i + r) * cRow * 4 + j * 4
  const cAt = (r: number) =>
    f32Address(
      [
        ...op.get(CBASE),
        ...op.get(I),
        ...op.i32(r),
        ...op.add,
        ...op.get(CR4),
        ...op.mul,
        ...op.add,
      ],
      op.get(J),
    );
  const store = scalar
    ? rs.flatMap((r) => [...cAt(r), ...op.get(SACC[r]), ...op.f32Store])
    : rs.flatMap((r) =>
        range(q).flatMap((x) => [...cAt(r), ...op.get(VACC[4 * r + x]), ...op.v128StoreAt(16 * x)]),
      );
  return until(
    [...op.get(J), ...op.i32(width), ...op.add, ...op.get(N), ...op.gtU],
    [...reset, ...start, ...sum, ...store, ...addTo(J, op.i32(width))],
  );
}

/** while (i + rows <= m): every column of rows i .. i+rows of C (16, then 4, then 1 at a time). */
const rowStage = (rows: number) =>
  until(
    [...op.get(I), ...op.i32(rows), ...op.add, ...op.get(M), ...op.gtU],
    [
      ...op.i32(0),
      ...op.set(J),
      ...columnStage(rows, 16),
      ...columnStage(rows, 4),
      ...columnStage(rows, 1),
      ...addTo(I, op.i32(rows)),
    ],
  );

/**
 * The product, rows of C two at a time (the last one alone when m is odd): two rows share
 * every load of B and keep eight independent accumulators, where one row's four added into
 * the same registers every few cycles (the adds' latency bounded it: ~39 against ~58 GFLOP/s
 * at 528 x 64 @ 64 x 64 on this machine's core). Every element's sum is unchanged: the same
 * float32 products added in the order of p from 0, so the bits do not depend on the tiling.
 */
function bmmBody(): number[] {
  const shl2 = (l: number, to: number) => [...op.get(l), ...op.i32(2), ...op.shl, ...op.set(to)];
  const code = [
    ...shl2(AI, AI4),
    ...shl2(AP, AP4),
    ...shl2(BR, BR4),
    ...shl2(CR, CR4),
    ...op.i32(0),
    ...op.set(T),
    ...until(
      [...op.get(T), ...op.get(BATCH), ...op.geU],
      [
        // abase = a + t * aStride, bbase = b + t * bStride, cbase = c + t * cStride
        ...batchBase(ABASE, A, AS),
        ...batchBase(BBASE, B, BS),
        ...batchBase(CBASE, C, CS),
        ...op.i32(0),
        ...op.set(I),
        ...rowStage(ROWS),
        ...rowStage(1),
        ...addTo(T, op.i32(1)),
      ],
    ),
  ];
  const locals = vec([
    [...uleb(LOCALS.i32), I32],
    [...uleb(LOCALS.f32), F32],
    [...uleb(LOCALS.v128), V128],
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
    [fnType(i32s(14)), fnType(i32s(3))],
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
  /** Element (p, j) of B[t] at p * bRowStep + j: n plain. */
  bRowStep: number,
  /** C[t] at c + t * cStride (bytes): m * n * 4 plain. */
  cStride: number,
  /** Element (i, j) of C[t] at i * cRowStep + j: n plain. */
  cRowStep: number,
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
