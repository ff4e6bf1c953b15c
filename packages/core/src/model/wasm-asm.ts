// WebAssembly binary encoding for the hand-assembled SIMD kernels (wasm-simd.ts, wasm-fused.ts):
// LEB128, sections, the opcodes they use, loops, and the vector erf / exp snippets they share.
// No toolchain is needed: the bytes are written here, opcode by opcode (WebAssembly core
// specification 2.0, binary format; SIMD opcodes from the fixed-width SIMD proposal).

/** Unsigned LEB128. */
export function uleb(n: number): number[] {
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
export function sleb(n: number): number[] {
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

export const vec = (items: number[][]) => [...uleb(items.length), ...items.flat()];
export const section = (id: number, body: number[]) => [id, ...uleb(body.length), ...body];
export const name = (s: string) => vec([...s].map((ch) => [ch.charCodeAt(0)]));

/** A function type: i32 / f32 parameters, no results. */
export const fnType = (params: number[]) => [0x60, ...vec(params.map((t) => [t])), 0x00];

/**
 * A kernel module's bytes: the function types, then each function's export name, type index
 * and body; one import, env.memory. `shared`: the memory of tfjs-backend-wasm's threaded build
 * (a cross-origin-isolated page) is a shared memory, whose import must say so and give a
 * maximum (65,536 pages, the wasm32 limit, admits any).
 */
export function kernelModule(
  types: number[][],
  fns: [name: string, type: number, body: number[]][],
  shared: boolean,
): Uint8Array<ArrayBuffer> {
  const limits = shared ? [0x03, 0x00, ...uleb(65536)] : [0x00, 0x00];
  return new Uint8Array([
    ...[0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00], // "\0asm", version 1
    ...section(1, vec(types)),
    ...section(2, vec([[...name('env'), ...name('memory'), 0x02, ...limits]])),
    ...section(3, vec(fns.map(([, t]) => uleb(t)))),
    ...section(7, vec(fns.map(([n], i) => [...name(n), 0x00, ...uleb(i)]))),
    ...section(10, vec(fns.map(([, , b]) => b))),
  ]);
}

/**
 * Instantiates a kernel module on `memory` (plain or shared: `bytes` is asked for the matching
 * import), synchronously (the modules are a few KB). Null when this engine cannot (no
 * WebAssembly SIMD): callers keep the backend's own kernels then.
 */
export function instantiateOn(
  memory: WebAssembly.Memory,
  bytes: (shared: boolean) => Uint8Array<ArrayBuffer>,
): WebAssembly.Exports | null {
  const shared =
    typeof SharedArrayBuffer !== 'undefined' && memory.buffer instanceof SharedArrayBuffer;
  try {
    return new WebAssembly.Instance(new WebAssembly.Module(bytes(shared)), { env: { memory } })
      .exports;
  } catch {
    return null;
  }
}

export const I32 = 0x7f;
export const F32 = 0x7d;
export const V128 = 0x7b;
export const op = {
  block: [0x02, 0x40],
  loop: [0x03, 0x40],
  end: [0x0b],
  br: (d: number) => [0x0c, ...uleb(d)],
  brIf: (d: number) => [0x0d, ...uleb(d)],
  get: (l: number) => [0x20, ...uleb(l)],
  set: (l: number) => [0x21, ...uleb(l)],
  i32: (v: number) => [0x41, ...sleb(v)],
  add: [0x6a],
  sub: [0x6b],
  mul: [0x6c],
  divU: [0x6e],
  i32Load: (offset: number) => [0x28, 0x02, ...uleb(offset)],
  shl: [0x74],
  geU: [0x4f],
  gtU: [0x4b],
  f32Load: [0x2a, 0x02, 0x00],
  f32Store: [0x38, 0x02, 0x00],
  f32Add: [0x92],
  f32Sub: [0x93],
  f32Mul: [0x94],
  f32Div: [0x95],
  f32Max: [0x97],
  f32Sqrt: [0x91],
  f32ConvertU: [0xb3], // f32.convert_i32_u
  f32LoadAt: (offset: number) => [0x2a, 0x02, ...uleb(offset)],
  v128Load: [0xfd, ...uleb(0), 0x00, 0x00], // align 1: rows are not 16-byte aligned
  v128Store: [0xfd, ...uleb(11), 0x00, 0x00],
  v128LoadAt: (offset: number) => [0xfd, ...uleb(0), 0x00, ...uleb(offset)],
  v128Load32Splat: [0xfd, ...uleb(9), 0x00, 0x00], // one f32 from memory into every lane
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
  // Pseudo-min / -max: pmin(a, b) = b < a ? b : a, pmax(a, b) = a < b ? b : a (one x86
  // instruction each; min / max order signed zeros and canonicalise NaN in ~7). Against a
  // non-zero constant bound they give min's / max's value, and a NaN input stays NaN.
  f32x4Pmin: [0xfd, ...uleb(234)],
  f32x4Pmax: [0xfd, ...uleb(235)],
  lane0: [0xfd, ...uleb(31), 0x00], // f32x4.extract_lane 0
  lane: (i: number) => [0xfd, ...uleb(31), i],
  f32x4Neg: [0xfd, ...uleb(225)],
  f32x4Sqrt: [0xfd, ...uleb(227)],
  tee: (l: number) => [0x22, ...uleb(l)],
  memFill: [0xfc, ...uleb(11), 0x00],
};

/**
 * Pushes the byte address of float32 element `index` of the array at `base`: base + index * 4
 * (both arguments are code that pushes one i32; `base` [] when it is already on the stack).
 */
export function f32Address(base: number[], index: number[]): number[] {
  return [...base, ...index, ...op.i32(2), ...op.shl, ...op.add];
}

/** for (v = 0; v < limit; v++) { body } as block/loop; body sees the loop at depth 0. */
export function forUp(v: number, limit: number[], body: number[]): number[] {
  return forStep(v, limit, 1, body);
}

/** for (v = 0; v < limit; v += step) { body }. */
export function forStep(v: number, limit: number[], step: number, body: number[]): number[] {
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
    ...op.i32(step),
    ...op.add,
    ...op.set(v),
    ...op.br(0),
    ...op.end,
    ...op.end,
  ];
}

/** Byte address base + (index << 2). */
export const addr = (base: number, index: number[]) => [
  ...op.get(base),
  ...index,
  ...op.i32(2),
  ...op.shl,
  ...op.add,
];

/** v128.const with `v` in every lane. */
export function splatConst(v: number): number[] {
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
export const EXP_HI = 88.72283935546875;
export const EXP_LO = -103.97208404541016;
export const LN2_HI = 0.693359375;
export const LN2_LO = -2.1219444e-4;

/** The i32x4 on the stack (integers h in [-126, 127]) -> the f32x4 2^h. */
export const pow2OfInts = [
  ...op.i32(127),
  ...op.i32x4Splat,
  ...op.i32x4Add,
  ...op.i32(23),
  ...op.i32x4Shl,
];

/** Horner's rule in the local `t` (multiply, then add: no fused multiply-add). */
export function horner(coef: number[], t: number): number[] {
  const out = splatConst(coef[coef.length - 1]);
  for (let c = coef.length - 2; c >= 0; c--)
    out.push(...op.get(t), ...op.f32x4Mul, ...splatConst(coef[c]), ...op.f32x4Add);
  return out;
}

/** The vector on the stack -> erf of it on the stack; v, x2: v128 temporaries. */
export function erfOfStack(V: number, X2: number): number[] {
  return [
    ...splatConst(4),
    ...op.f32x4Pmin,
    ...splatConst(-4),
    ...op.f32x4Pmax,
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
}

/** The vector on the stack -> exp of it on the stack (see EXP_POLY); v, x2, r, kf: v128
 * temporaries. */
export function expOfStack(V: number, X2: number, R: number, KF: number): number[] {
  return [
    ...op.set(V),
    // k = nearest(x log2 e) on x clamped to where exp is neither 0 nor inf in float32.
    ...op.get(V),
    ...splatConst(EXP_HI),
    ...op.f32x4Pmin,
    ...splatConst(EXP_LO),
    ...op.f32x4Pmax,
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
}

/** ln(2^-126): below it exp(x) is not a normal float32. */
export const EXP_NORMAL_LO = Math.log(2 ** -126);

/**
 * exp of a vector the caller knows to be <= 0 (softmax's z - max, GELU's -x^2 / 2): the
 * polynomial of expOfStack, but 2^k built in one step (k in [-126, 0]) and no overflow test;
 * results below the smallest normal float32 (x < ln 2^-126) are 0, an absolute error under
 * 1.2e-38. NaN stays NaN. For x > 0 the result is wrong (it is never called so).
 */
export function expNonPositiveOfStack(V: number, X2: number, R: number, KF: number): number[] {
  return [
    ...op.set(V),
    ...op.get(V),
    ...splatConst(EXP_NORMAL_LO),
    ...op.f32x4Pmax,
    ...op.tee(R),
    ...splatConst(Math.LOG2E),
    ...op.f32x4Mul,
    ...op.f32x4Nearest,
    ...op.set(KF),
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
    ...horner(EXP_POLY, R),
    ...op.get(X2),
    ...op.f32x4Mul,
    ...op.get(R),
    ...op.f32x4Add,
    ...splatConst(1),
    ...op.f32x4Add,
    ...op.get(KF),
    ...op.i32x4TruncSat,
    ...pow2OfInts,
    ...op.f32x4Mul,
    // x < ln 2^-126: 0 (NaN fails the test and stays NaN).
    ...op.get(V),
    ...splatConst(EXP_NORMAL_LO),
    ...op.f32x4Lt,
    ...op.v128Andnot,
  ];
}
