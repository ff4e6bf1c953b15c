// WebAssembly SIMD kernels for the wasm backend: a batched matrix product (attention's small
// per-head products) and erf (the exact GELU of every block).
//
// Batched product.
// tfjs-backend-wasm 4.22 sends only un-batched, untransposed 2-D products to XNNPACK; a batched
// BatchMatMul (attention's Q K^T and P V, [n x heads, 33, 16] for `tiny`) runs a scalar loop
// at ~1-2 GFLOP/s, ~40 % of a training step's kernel time (bench/train.bench.ts). This module
// is one function, emitted below as WebAssembly bytes, that works in the backend's own memory
// (imported), so no tensor is copied:
//
//   bmm(a, b, c, batch, m, k, n, aStride, bStride):  for each batch index t,
//     C[t] (m x n) = A[t] (m x k) @ B[t] (k x n)     all row-major float32; pointers and
//                                                   per-batch strides in bytes (0 = broadcast)
//
// Each row of C is zeroed, then C[i, :] += A[i, p] * B[p, :] for p = 0..k-1 in order, four
// columns at a time (f32x4) and the remainder one by one: every element is the same sequence
// of float32 multiplies and adds (no fused multiply-add), so results are deterministic.
//
// erf(x, y, count): y = erf(x) elementwise, four lanes at a time. tfjs-backend-wasm's scalar
// Erf costs ~10 multiplies' worth per element (0.7 ms for one [16, 33, 128] GELU input, ~7 % of
// a training step). This one is the rational approximation of Eigen / TensorFlow
// (`generic_fast_erf_float`): x clamped to [-4, 4] (erf is +-1 in float32 beyond), then
// erf(x) = x P(x^2) / Q(x^2) with P of degree 6 and Q of degree 4; its error is 6.5e-8 in
// exact arithmetic and at most 3.1e-7 in float32 on [-6, 6] (a few ulps near +-1; the backend's
// scalar erf: 4.3e-8), checked against a float64 erf in test/model-wasm-kernels.test.ts.
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
const [T, I, P, J, AROW, BROW, CROW] = [9, 10, 11, 12, 13, 14, 15];
const AS1 = 16; // f32: A[i, p]
const AV = 17; // v128: A[i, p] in every lane

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

function bmmBody(): number[] {
  // Vector part: while (j + 4 <= n) { C[j..j+3] += av * B[j..j+3]; j += 4 }
  const vectorCols = [
    ...op.block,
    ...op.loop,
    ...op.get(J),
    ...op.i32(4),
    ...op.add,
    ...op.get(N),
    ...op.gtU,
    ...op.brIf(1),
    ...addr(CROW, op.get(J)),
    ...addr(CROW, op.get(J)),
    ...op.v128Load,
    ...op.get(AV),
    ...addr(BROW, op.get(J)),
    ...op.v128Load,
    ...op.f32x4Mul,
    ...op.f32x4Add,
    ...op.v128Store,
    ...op.get(J),
    ...op.i32(4),
    ...op.add,
    ...op.set(J),
    ...op.br(0),
    ...op.end,
    ...op.end,
  ];
  // Scalar remainder: while (j < n) { C[j] += a * B[j]; j++ }
  const scalarCols = [
    ...op.block,
    ...op.loop,
    ...op.get(J),
    ...op.get(N),
    ...op.geU,
    ...op.brIf(1),
    ...addr(CROW, op.get(J)),
    ...addr(CROW, op.get(J)),
    ...op.f32Load,
    ...op.get(AS1),
    ...addr(BROW, op.get(J)),
    ...op.f32Load,
    ...op.f32Mul,
    ...op.f32Add,
    ...op.f32Store,
    ...op.get(J),
    ...op.i32(1),
    ...op.add,
    ...op.set(J),
    ...op.br(0),
    ...op.end,
    ...op.end,
  ];
  const overP = forUp(P, op.get(K), [
    // as1 = A[t][i][p]; av = splat(as1)
    ...addr(AROW, op.get(P)),
    ...op.f32Load,
    ...op.set(AS1),
    ...op.get(AS1),
    ...op.splat,
    ...op.set(AV),
    // brow = b + t * bStride + (p * n << 2)
    ...op.get(B),
    ...op.get(T),
    ...op.get(BS),
    ...op.mul,
    ...op.add,
    ...op.get(P),
    ...op.get(N),
    ...op.mul,
    ...op.i32(2),
    ...op.shl,
    ...op.add,
    ...op.set(BROW),
    ...op.i32(0),
    ...op.set(J),
    ...vectorCols,
    ...scalarCols,
  ]);
  const overI = forUp(I, op.get(M), [
    // crow = c + ((t * m + i) * n << 2); zero it
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
    ...op.get(CROW),
    ...op.i32(0),
    ...op.get(N),
    ...op.i32(2),
    ...op.shl,
    ...op.memFill,
    // arow = a + t * aStride + (i * k << 2)
    ...op.get(A),
    ...op.get(T),
    ...op.get(AS),
    ...op.mul,
    ...op.add,
    ...op.get(I),
    ...op.get(K),
    ...op.mul,
    ...op.i32(2),
    ...op.shl,
    ...op.add,
    ...op.set(AROW),
    ...overP,
  ]);
  const code = forUp(T, op.get(BATCH), overI);
  const locals = vec([
    [...uleb(7), I32],
    [...uleb(1), F32],
    [...uleb(1), V128],
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

function erfBody(): number[] {
  const [X, Y, COUNT, IDX, V, X2] = [0, 1, 2, 3, 4, 5];
  // Horner in x^2 (multiply, then add: no fused multiply-add).
  const horner = (coef: number[]) => {
    const out = splatConst(coef[coef.length - 1]);
    for (let c = coef.length - 2; c >= 0; c--)
      out.push(...op.get(X2), ...op.f32x4Mul, ...splatConst(coef[c]), ...op.f32x4Add);
    return out;
  };
  // The vector on the stack -> erf of it on the stack.
  const erfOfStack = [
    ...splatConst(4),
    ...op.f32x4Min,
    ...splatConst(-4),
    ...op.f32x4Max,
    ...op.tee(V),
    ...op.get(V),
    ...op.f32x4Mul,
    ...op.set(X2),
    ...horner(ERF_NUMERATOR),
    ...op.get(V),
    ...op.f32x4Mul,
    ...horner(ERF_DENOMINATOR),
    ...op.f32x4Div,
  ];
  const vectorPart = [
    ...op.i32(0),
    ...op.set(IDX),
    ...op.block,
    ...op.loop,
    ...op.get(IDX),
    ...op.i32(4),
    ...op.add,
    ...op.get(COUNT),
    ...op.gtU,
    ...op.brIf(1),
    ...addr(Y, op.get(IDX)),
    ...addr(X, op.get(IDX)),
    ...op.v128Load,
    ...erfOfStack,
    ...op.v128Store,
    ...op.get(IDX),
    ...op.i32(4),
    ...op.add,
    ...op.set(IDX),
    ...op.br(0),
    ...op.end,
    ...op.end,
  ];
  // The last count % 4 elements one at a time (splat, erf, lane 0): same arithmetic per lane.
  const tail = [
    ...op.block,
    ...op.loop,
    ...op.get(IDX),
    ...op.get(COUNT),
    ...op.geU,
    ...op.brIf(1),
    ...addr(Y, op.get(IDX)),
    ...addr(X, op.get(IDX)),
    ...op.f32Load,
    ...op.splat,
    ...erfOfStack,
    ...op.lane0,
    ...op.f32Store,
    ...op.get(IDX),
    ...op.i32(1),
    ...op.add,
    ...op.set(IDX),
    ...op.br(0),
    ...op.end,
    ...op.end,
  ];
  const locals = vec([
    [...uleb(1), I32],
    [...uleb(2), V128],
  ]);
  const fn = [...locals, ...vectorPart, ...tail, ...op.end];
  return [...uleb(fn.length), ...fn];
}

/**
 * The module's bytes: imports env.memory, exports bmm and erf. `shared`: the memory of
 * tfjs-backend-wasm's threaded build (a cross-origin-isolated page) is a shared memory, whose
 * import must say so and give a maximum (65,536 pages, the wasm32 limit, admits any).
 */
export function simdModuleBytes(shared = false): Uint8Array<ArrayBuffer> {
  const params = (n: number) => [0x60, ...vec(Array.from({ length: n }, () => [I32])), 0x00];
  const type = section(1, vec([params(9), params(3)]));
  const limits = shared ? [0x03, 0x00, ...uleb(65536)] : [0x00, 0x00];
  const imports = section(2, vec([[...name('env'), ...name('memory'), 0x02, ...limits]]));
  const funcs = section(3, vec([uleb(0), uleb(1)]));
  const exports = section(
    7,
    vec([
      [...name('bmm'), 0x00, 0x00],
      [...name('erf'), 0x00, 0x01],
    ]),
  );
  const code = section(10, vec([bmmBody(), erfBody()]));
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
) => void;

/** erf(x, y, count): byte pointers, element count. */
export type Erf = (x: number, y: number, count: number) => void;

export interface SimdKernels {
  bmm: Bmm;
  erf: Erf;
}

/**
 * Instantiates the kernels on `memory` (synchronously: the module is ~1 KB), a plain or a
 * shared one. Null when this engine lacks WebAssembly SIMD: callers keep the backend's own
 * kernels then. The kernels run on the calling thread only; tfjs runs one kernel at a time.
 */
export function instantiateSimd(memory: WebAssembly.Memory): SimdKernels | null {
  const shared =
    typeof SharedArrayBuffer !== 'undefined' && memory.buffer instanceof SharedArrayBuffer;
  try {
    const mod = new WebAssembly.Module(simdModuleBytes(shared));
    const inst = new WebAssembly.Instance(mod, { env: { memory } });
    return { bmm: inst.exports.bmm as Bmm, erf: inst.exports.erf as Erf };
  } catch {
    return null;
  }
}
