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
// No toolchain is needed: the bytes are written here, opcode by opcode (WebAssembly core
// specification 2.0, binary format; SIMD opcodes from the fixed-width SIMD proposal).

/** Unsigned LEB128. */
function uleb(n: number): number[] {
  const out: number[] = [];
  do {
    let byte = n & 0x7f;
    n >>>= 7;
    if (n !== 0) byte |= 0x80;
    out.push(byte);
  } while (n !== 0);
  return out;
}

/** Signed LEB128 (small constants). */
function sleb(n: number): number[] {
  const out: number[] = [];
  for (;;) {
    const byte = n & 0x7f;
    n >>= 7;
    if ((n === 0 && (byte & 0x40) === 0) || (n === -1 && (byte & 0x40) !== 0)) {
      out.push(byte);
      return out;
    }
    out.push(byte | 0x80);
  }
}

const vec = (items: number[][]) => [...uleb(items.length), ...items.flat()];
const section = (id: number, body: number[]) => [id, ...uleb(body.length), ...body];
const name = (s: string) => vec([...s].map((ch) => [ch.charCodeAt(0)]));

const I32 = 0x7f;
const F32 = 0x7d;
const V128 = 0x7b;
const op = {
  block: [0x02, 0x40],
  loop: [0x03, 0x40],
  end: [0x0b],
  br: (d: number) => [0x0c, ...uleb(d)],
  brIf: (d: number) => [0x0d, ...uleb(d)],
  get: (l: number) => [0x20, ...uleb(l)],
  set: (l: number) => [0x21, ...uleb(l)],
  i32: (v: number) => [0x41, ...sleb(v)],
  add: [0x6a],
  mul: [0x6c],
  shl: [0x74],
  geU: [0x4f],
  gtU: [0x4b],
  f32Load: [0x2a, 0x02, 0x00],
  f32Store: [0x38, 0x02, 0x00],
  f32Add: [0x92],
  f32Mul: [0x94],
  v128Load: [0xfd, ...uleb(0), 0x00, 0x00], // align 1: rows are not 16-byte aligned
  v128Store: [0xfd, ...uleb(11), 0x00, 0x00],
  v128LoadAt: (offset: number) => [0xfd, ...uleb(0), 0x00, ...uleb(offset)],
  v128StoreAt: (offset: number) => [0xfd, ...uleb(11), 0x00, ...uleb(offset)],
  zero: [0xfd, ...uleb(12), ...new Array<number>(16).fill(0)], // v128.const 0
  f32x4Sub: [0xfd, ...uleb(229)],
  f32x4Nearest: [0xfd, ...uleb(106)],
  f32x4Lt: [0xfd, ...uleb(67)],
  f32x4Gt: [0xfd, ...uleb(68)],
  v128Andnot: [0xfd, ...uleb(79)],
  v128Bitselect: [0xfd, ...uleb(82)],
  i32x4Splat: [0xfd, ...uleb(17)],
  i32x4Shl: [0xfd, ...uleb(171)],
  i32x4ShrS: [0xfd, ...uleb(172)],
  i32x4Add: [0xfd, ...uleb(174)],
  i32x4Sub: [0xfd, ...uleb(177)],
  i32x4TruncSat: [0xfd, ...uleb(248)], // i32x4.trunc_sat_f32x4_s
  f32Const: (v: number) => [0x43, ...new Uint8Array(new Float32Array([v]).buffer)],
  splat: [0xfd, ...uleb(19)],
  f32x4Add: [0xfd, ...uleb(228)],
  f32x4Mul: [0xfd, ...uleb(230)],
  f32x4Div: [0xfd, ...uleb(231)],
  f32x4Min: [0xfd, ...uleb(232)],
  f32x4Max: [0xfd, ...uleb(233)],
  lane0: [0xfd, ...uleb(31), 0x00], // f32x4.extract_lane 0
  tee: (l: number) => [0x22, ...uleb(l)],
  memFill: [0xfc, ...uleb(11), 0x00],
};

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
const elemOfA = [
  ...op.get(AROW),
  ...op.get(P),
  ...op.get(AP),
  ...op.mul,
  ...op.i32(2),
  ...op.shl,
  ...op.add,
];

/** for (v = 0; v < limit; v++) { body } as block/loop; body sees the loop at depth 0. */
function forUp(v: number, limit: number[], body: number[]): number[] {
  return [
    ...op.i32(0),
    ...op.set(v),
    ...op.block,
    ...op.loop,
    ...op.get(v),
    ...limit,
    ...op.geU,
    ...op.brIf(1),
    ...body,
    ...op.get(v),
    ...op.i32(1),
    ...op.add,
    ...op.set(v),
    ...op.br(0),
    ...op.end,
    ...op.end,
  ];
}

/** Byte address base + (index << 2). */
const addr = (base: number, index: number[]) => [
  ...op.get(base),
  ...index,
  ...op.i32(2),
  ...op.shl,
  ...op.add,
];

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
    ...op.get(I),
    ...op.get(AI),
    ...op.mul,
    ...op.i32(2),
    ...op.shl,
    ...op.add,
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

/** v128.const with `v` in every lane. */
function splatConst(v: number): number[] {
  const lane = [...new Uint8Array(new Float32Array([v]).buffer)];
  return [0xfd, ...uleb(12), ...lane, ...lane, ...lane, ...lane];
}

/** Eigen's fast erf coefficients: numerator x * (a1 + a3 x^2 + ... + a13 x^12). */
export const ERF_NUMERATOR = [
  -1.60960333262415e-2, -2.95459980854025e-3, -7.34990630326855e-4, -5.69250639462346e-5,
  -2.10102402082508e-6, 2.77068142495902e-8, -2.72614225801306e-10,
];
/** Denominator b0 + b2 x^2 + ... + b8 x^8. */
export const ERF_DENOMINATOR = [
  -1.42647390514189e-2, -7.37332916720468e-3, -1.68282697438203e-3, -2.13374055278905e-4,
  -1.45660718464996e-5,
];

/**
 * exp: Cephes' expf (S. L. Moshier), four lanes at a time: k = nearest(x log2 e),
 * r = x - k ln2 (ln2 in two parts), e^r = 1 + r + r^2 P(r) with P of degree 5 (below), times
 * 2^k built from exponent bits in two halves so that k down to -150 (denormal results) and up
 * to 128 stay exact. Below EXP_LO the float32 result is 0, above EXP_HI +inf.
 */
export const EXP_POLY = [
  5.0000001201e-1, 1.6666665459e-1, 4.1665795894e-2, 8.3334519073e-3, 1.3981999507e-3,
  1.98756915e-4,
];
const EXP_HI = 88.72283935546875;
const EXP_LO = -103.97208404541016;
const LN2_HI = 0.693359375;
const LN2_LO = -2.1219444e-4;

/** The i32x4 on the stack (integers h in [-126, 127]) -> the f32x4 2^h. */
const pow2OfInts = [
  ...op.i32(127),
  ...op.i32x4Splat,
  ...op.i32x4Add,
  ...op.i32(23),
  ...op.i32x4Shl,
];

// Locals of an element-wise function (x, y, count): an index, then v128 temporaries.
const [UX, UY, UCOUNT, UIDX] = [0, 1, 2, 3];
const [V, X2, R, KF] = [4, 5, 6, 7];

/** Horner's rule in the local `t` (multiply, then add: no fused multiply-add). */
function horner(coef: number[], t: number): number[] {
  const out = splatConst(coef[coef.length - 1]);
  for (let c = coef.length - 2; c >= 0; c--)
    out.push(...op.get(t), ...op.f32x4Mul, ...splatConst(coef[c]), ...op.f32x4Add);
  return out;
}

/** The vector on the stack -> erf of it on the stack. */
const erfOfStack = [
  ...splatConst(4),
  ...op.f32x4Min,
  ...splatConst(-4),
  ...op.f32x4Max,
  ...op.tee(V),
  ...op.get(V),
  ...op.f32x4Mul,
  ...op.set(X2),
  ...horner(ERF_NUMERATOR, X2),
  ...op.get(V),
  ...op.f32x4Mul,
  ...horner(ERF_DENOMINATOR, X2),
  ...op.f32x4Div,
];

/** The vector on the stack -> exp of it on the stack (see EXP_POLY). */
const expOfStack = [
  ...op.set(V),
  // k = nearest(x log2 e) on x clamped to where exp is neither 0 nor inf in float32.
  ...op.get(V),
  ...splatConst(EXP_HI),
  ...op.f32x4Min,
  ...splatConst(EXP_LO),
  ...op.f32x4Max,
  ...op.tee(R),
  ...splatConst(Math.LOG2E),
  ...op.f32x4Mul,
  ...op.f32x4Nearest,
  ...op.set(KF),
  // r = x - k ln2, with ln2 split in two (Cody & Waite) so that k * LN2_HI is exact.
  ...op.get(R),
  ...op.get(KF),
  ...splatConst(LN2_HI),
  ...op.f32x4Mul,
  ...op.f32x4Sub,
  ...op.get(KF),
  ...splatConst(LN2_LO),
  ...op.f32x4Mul,
  ...op.f32x4Sub,
  ...op.tee(R),
  ...op.get(R),
  ...op.f32x4Mul,
  ...op.set(X2),
  // e^r = 1 + r + r^2 P(r)
  ...horner(EXP_POLY, R),
  ...op.get(X2),
  ...op.f32x4Mul,
  ...op.get(R),
  ...op.f32x4Add,
  ...splatConst(1),
  ...op.f32x4Add,
  // times 2^k as 2^(k >> 1) 2^(k - (k >> 1)): each factor a normal float for k in [-150, 128].
  ...op.get(KF),
  ...op.i32x4TruncSat,
  ...op.tee(KF),
  ...op.i32(1),
  ...op.i32x4ShrS,
  ...op.tee(R),
  ...pow2OfInts,
  ...op.f32x4Mul,
  ...op.get(KF),
  ...op.get(R),
  ...op.i32x4Sub,
  ...pow2OfInts,
  ...op.f32x4Mul,
  // x > EXP_HI: +inf; x < EXP_LO: 0 (NaN fails both tests and stays NaN).
  ...op.set(R),
  ...splatConst(Infinity),
  ...op.get(R),
  ...op.get(V),
  ...splatConst(EXP_HI),
  ...op.f32x4Gt,
  ...op.v128Bitselect,
  ...op.get(V),
  ...splatConst(EXP_LO),
  ...op.f32x4Lt,
  ...op.v128Andnot,
];

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

/**
 * The module's bytes: imports env.memory, exports bmm, erf and exp. `shared`: the memory of
 * tfjs-backend-wasm's threaded build (a cross-origin-isolated page) is a shared memory, whose
 * import must say so and give a maximum (65,536 pages, the wasm32 limit, admits any).
 */
export function simdModuleBytes(shared = false): Uint8Array<ArrayBuffer> {
  const params = (n: number) => [0x60, ...vec(Array.from({ length: n }, () => [I32])), 0x00];
  const type = section(1, vec([params(11), params(3)]));
  const limits = shared ? [0x03, 0x00, ...uleb(65536)] : [0x00, 0x00];
  const imports = section(2, vec([[...name('env'), ...name('memory'), 0x02, ...limits]]));
  const funcs = section(3, vec([uleb(0), uleb(1), uleb(1)]));
  const exports = section(
    7,
    vec([
      [...name('bmm'), 0x00, 0x00],
      [...name('erf'), 0x00, 0x01],
      [...name('exp'), 0x00, 0x02],
    ]),
  );
  const code = section(
    10,
    vec([bmmBody(), elementwiseBody(erfOfStack), elementwiseBody(expOfStack)]),
  );
  return new Uint8Array([
    0x00,
    0x61,
    0x73,
    0x6d,
    0x01,
    0x00,
    0x00,
    0x00,
    ...type,
    ...imports,
    ...funcs,
    ...exports,
    ...code,
  ]);
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
  const shared =
    typeof SharedArrayBuffer !== 'undefined' && memory.buffer instanceof SharedArrayBuffer;
  try {
    const mod = new WebAssembly.Module(simdModuleBytes(shared));
    const inst = new WebAssembly.Instance(mod, { env: { memory } });
    return {
      bmm: inst.exports.bmm as Bmm,
      erf: inst.exports.erf as Elementwise,
      exp: inst.exports.exp as Elementwise,
    };
  } catch {
    return null;
  }
}
