/**
 * Update codecs for named deltas: what a client sends up
 * and the server sends down. The encoding is self-describing, never positional:
 *
 *   msgpack {v: 1, codec, tensors: [{name, shape, dtype, scale?, data: bin}]}
 *
 * - fp32: float32 little-endian, exact.
 * - fp16: IEEE 754 binary16 little-endian, round-to-nearest-even (own conversion below; Node
 *   20 has no Math.f16round). Relative error <= 2^-11 in the normal range (|x| >= 2^-14).
 *   Values beyond the fp16 range (|x| > 65504 after rounding) are refused rather than sent as
 *   Inf.
 * - int8: per-tensor symmetric scale = max|x| / 127, q = round(x / scale) in [-127, 127];
 *   absolute error <= scale / 2. An all-zero tensor has scale 0.
 *
 * Communication in the paper is counted as trainable params x 32 bit (docs/method.md §3); these
 * codecs cut that by 2x (fp16) and ~4x (int8). `encodedSize` gives the exact byte count
 * without materialising large buffers (used by bench/bytes.bench.ts for the vilt-b32 shapes).
 */
import { decode, encode } from '@msgpack/msgpack';
import { sizeOf, type NamedArrays } from '../tensors/named.js';

export const CODECS = ['fp32', 'fp16', 'int8'] as const;
export type Codec = (typeof CODECS)[number];

export const CODEC_VERSION = 1;

const DTYPE_OF: Record<Codec, 'float32' | 'float16' | 'int8'> = {
  fp32: 'float32',
  fp16: 'float16',
  int8: 'int8',
};
const BYTES_PER: Record<Codec, number> = { fp32: 4, fp16: 2, int8: 1 };

/** Expected names and shapes for `decodeUpdate`: a shape map or any NamedArrays. */
export type ExpectedShapes = Record<string, readonly number[] | { shape: readonly number[] }>;

export function isCodec(x: unknown): x is Codec {
  return typeof x === 'string' && (CODECS as readonly string[]).includes(x);
}

function assertCodec(codec: unknown): asserts codec is Codec {
  if (!isCodec(codec)) {
    throw new Error(`unknown codec ${JSON.stringify(codec)}; valid codecs: ${CODECS.join(', ')}`);
  }
}

// ---------------------------------------------------------------------------------------------
// float16 conversion

const f32buf = new Float32Array(1);
const u32buf = new Uint32Array(f32buf.buffer);

/** Largest finite float16 value. */
export const FLOAT16_MAX = 65504;

/**
 * IEEE binary16 bits of a number, rounded to nearest, ties to even (the number is first
 * rounded to float32, as it is stored in a Float32Array anyway). NaN -> 0x7e00 (quiet),
 * overflow -> +-Inf.
 */
export function float32ToFloat16Bits(x: number): number {
  f32buf[0] = x;
  return halfBitsOfFloat32Bits(u32buf[0]);
}

/** Same as `float32ToFloat16Bits`, from the float32's bit pattern (the bulk encoder's path). */
function halfBitsOfFloat32Bits(b: number): number {
  const sign = (b >>> 16) & 0x8000;
  const exp = (b >>> 23) & 0xff;
  const mant = b & 0x7fffff;
  if (exp === 0xff) return mant !== 0 ? 0x7e00 : sign | 0x7c00;
  const e = exp - 127 + 15; // rebias
  if (e >= 0x1f) return sign | 0x7c00;
  if (e <= 0) {
    // Subnormal half: value = m * 2^-24. With the implicit bit, the float32 value is
    // M * 2^(e - 14) in units of 2^-24 (M has 24 bits), so shift right by 14 - e.
    const shift = 14 - e;
    if (shift > 24) return sign; // < 2^-25: rounds to (signed) zero
    const M = mant | 0x800000;
    let m = M >>> shift;
    const rem = M & ((1 << shift) - 1);
    const half = 1 << (shift - 1);
    if (rem > half || (rem === half && (m & 1) === 1)) m++;
    return sign | m; // m may reach 0x400 = the smallest normal, which is the right encoding
  }
  let h = sign | (e << 10) | (mant >>> 13);
  const rem = mant & 0x1fff;
  // A carry out of the mantissa correctly bumps the exponent (up to Inf at 65520).
  if (rem > 0x1000 || (rem === 0x1000 && (h & 1) === 1)) h++;
  return h;
}

/** The value of IEEE binary16 bits. */
export function float16BitsToFloat32(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const e = (h >>> 10) & 0x1f;
  const m = h & 0x3ff;
  if (e === 0) return sign * m * 2 ** -24;
  if (e === 0x1f) return m !== 0 ? NaN : sign * Infinity;
  return sign * (1 + m / 1024) * 2 ** (e - 15);
}

let halfTable: Float32Array | null = null;
function halfToFloatTable(): Float32Array {
  if (!halfTable) {
    halfTable = new Float32Array(65536);
    for (let h = 0; h < 65536; h++) halfTable[h] = float16BitsToFloat32(h);
  }
  return halfTable;
}

// ---------------------------------------------------------------------------------------------
// little-endian byte views

const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

function f32ToBytes(a: Float32Array): Uint8Array {
  if (LITTLE_ENDIAN)
    return new Uint8Array(a.buffer.slice(a.byteOffset, a.byteOffset + a.byteLength));
  const out = new Uint8Array(a.length * 4);
  const dv = new DataView(out.buffer);
  for (let i = 0; i < a.length; i++) dv.setFloat32(i * 4, a[i], true);
  return out;
}

function bytesToF32(b: Uint8Array): Float32Array {
  // Copy first: msgpack hands out views into the input (a pooled ws Buffer in Node), which may
  // be reused and is not 4-byte aligned (a Node Buffer from a pool may start at an odd byte offset).
  const copy = new Uint8Array(b);
  if (LITTLE_ENDIAN) return new Float32Array(copy.buffer, 0, copy.length / 4);
  const dv = new DataView(copy.buffer);
  const out = new Float32Array(copy.length / 4);
  for (let i = 0; i < out.length; i++) out[i] = dv.getFloat32(i * 4, true);
  return out;
}

// ---------------------------------------------------------------------------------------------
// encode

interface WireTensor {
  name: string;
  shape: number[];
  dtype: string;
  scale?: number;
  data: Uint8Array;
}

function encodeTensor(name: string, shape: readonly number[], data: Float32Array, codec: Codec) {
  const t: WireTensor = { name, shape: [...shape], dtype: DTYPE_OF[codec], data: new Uint8Array() };
  if (codec === 'fp32') {
    t.data = f32ToBytes(data);
  } else if (codec === 'fp16') {
    const out = new Uint8Array(data.length * 2);
    // Read the float32 bit patterns directly (a Float32Array's byteOffset is 4-aligned).
    const bits = new Uint32Array(data.buffer, data.byteOffset, data.length);
    for (let i = 0; i < data.length; i++) {
      const h = halfBitsOfFloat32Bits(bits[i]);
      if ((h & 0x7c00) === 0x7c00) {
        throw new Error(
          `tensor "${name}": value ${data[i]} at ${i} is outside the fp16 range (|x| <= ${FLOAT16_MAX}); use fp32`,
        );
      }
      out[2 * i] = h & 0xff;
      out[2 * i + 1] = h >>> 8;
    }
    t.data = out;
  } else {
    let maxAbs = 0;
    for (let i = 0; i < data.length; i++) maxAbs = Math.max(maxAbs, Math.abs(data[i]));
    const scale = maxAbs / 127;
    const q = new Int8Array(data.length);
    if (scale > 0) {
      for (let i = 0; i < data.length; i++) {
        // |x| <= maxAbs, so |x / scale| <= 127 up to rounding; clamp anyway, because an Int8Array
        // store would wrap 128 to -128.
        const v = Math.round(data[i] / scale);
        q[i] = v > 127 ? 127 : v < -127 ? -127 : v;
      }
    }
    t.scale = scale;
    t.data = new Uint8Array(q.buffer);
  }
  return t;
}

/**
 * `<layer>/<param>` (tensors/named.ts). Requiring the slash also keeps names such as
 * "__proto__" or "constructor" out of the plain objects that hold decoded tensors.
 */
const PARAM_NAME = /^[^/]+\/.+$/;

function checkTensor(name: string, t: { shape: readonly number[]; data: Float32Array }) {
  if (!PARAM_NAME.test(name)) {
    throw new Error(`tensor name ${JSON.stringify(name)} is not of the form "<layer>/<param>"`);
  }
  if (!t || !Array.isArray(t.shape) || !(t.data instanceof Float32Array)) {
    throw new Error(`tensor "${name}" must be {shape: number[], data: Float32Array}`);
  }
  checkShape(name, t.shape);
  if (sizeOf(t.shape) !== t.data.length) {
    throw new Error(
      `tensor "${name}": shape [${t.shape.join(', ')}] needs ${sizeOf(t.shape)} values, data has ${t.data.length}`,
    );
  }
  for (let i = 0; i < t.data.length; i++) {
    if (!Number.isFinite(t.data[i])) {
      throw new Error(`tensor "${name}": non-finite value (${t.data[i]}) at ${i}`);
    }
  }
}

function checkShape(name: string, shape: unknown): asserts shape is number[] {
  if (
    !Array.isArray(shape) ||
    shape.some((d) => typeof d !== 'number' || !Number.isInteger(d) || d < 0)
  ) {
    throw new Error(
      `tensor "${name}": shape must be an array of non-negative integers, got ${JSON.stringify(shape)}`,
    );
  }
}

/** Encode named deltas with a codec. Rejects NaN/Inf and inconsistent shapes. */
export function encodeUpdate(deltas: NamedArrays, codec: Codec): Uint8Array {
  assertCodec(codec);
  const tensors: WireTensor[] = [];
  for (const [name, t] of Object.entries(deltas)) {
    checkTensor(name, t);
    tensors.push(encodeTensor(name, t.shape, t.data, codec));
  }
  return encode({ v: CODEC_VERSION, codec, tensors });
}

/**
 * Exact byte length of `encodeUpdate(tensors, codec)` for tensors with these names and shapes,
 * computed without allocating their data. For int8 it assumes every scale is a non-integer
 * (msgpack float64, 9 bytes); a tensor whose scale is an integer (e.g. all zeros) encodes a
 * few bytes shorter, so the value is then an upper bound.
 */
export function encodedSize(tensors: ExpectedShapes, codec: Codec): number {
  assertCodec(codec);
  let dataBytes = 0;
  const skeleton: WireTensor[] = [];
  for (const [name, s] of Object.entries(tensors)) {
    const shape = shapeOf(s);
    checkShape(name, shape);
    const n = sizeOf(shape) * BYTES_PER[codec];
    // The skeleton carries an empty bin (2-byte bin8 header); add the real header + payload.
    dataBytes += n + binHeaderBytes(n) - 2;
    const t: WireTensor = {
      name,
      shape: [...shape],
      dtype: DTYPE_OF[codec],
      data: new Uint8Array(),
    };
    if (codec === 'int8') t.scale = 0.5;
    skeleton.push(t);
  }
  return encode({ v: CODEC_VERSION, codec, tensors: skeleton }).byteLength + dataBytes;
}

function binHeaderBytes(n: number): number {
  if (n < 0x100) return 2;
  if (n < 0x10000) return 3;
  return 5;
}

function shapeOf(s: readonly number[] | { shape: readonly number[] }): readonly number[] {
  return Array.isArray(s) ? s : (s as { shape: readonly number[] }).shape;
}

// ---------------------------------------------------------------------------------------------
// decode

export interface DecodedUpdate {
  codec: Codec;
  deltas: NamedArrays;
}

/**
 * Decode and validate an encoded update. With `expected` ({name -> shape} or NamedArrays),
 * every tensor must be a known name with exactly that shape (a subset of the names is fine:
 * partial updates are the point). Always rejects truncated data, NaN/Inf, unknown codecs and
 * versions, and duplicate names.
 */
export function decodeUpdate(bytes: Uint8Array, expected?: ExpectedShapes): NamedArrays {
  return decodeUpdateWithCodec(bytes, expected).deltas;
}

export function decodeUpdateWithCodec(bytes: Uint8Array, expected?: ExpectedShapes): DecodedUpdate {
  if (!(bytes instanceof Uint8Array)) throw new Error('update must be a Uint8Array');
  let msg: unknown;
  try {
    msg = decode(bytes);
  } catch (e) {
    throw new Error(`update is not valid msgpack (truncated or corrupt): ${(e as Error).message}`);
  }
  if (msg === null || typeof msg !== 'object' || Array.isArray(msg)) {
    throw new Error('update must be a msgpack map {v, codec, tensors}');
  }
  const m = msg as Record<string, unknown>;
  if (m.v !== CODEC_VERSION) {
    throw new Error(
      `update version ${JSON.stringify(m.v)} is not supported (expected ${CODEC_VERSION})`,
    );
  }
  assertCodec(m.codec);
  const codec = m.codec;
  if (!Array.isArray(m.tensors)) throw new Error('update field "tensors" must be an array');

  const deltas: NamedArrays = {};
  m.tensors.forEach((raw: unknown, i: number) => {
    if (raw === null || typeof raw !== 'object') throw new Error(`tensors[${i}] must be a map`);
    const t = raw as Record<string, unknown>;
    if (typeof t.name !== 'string' || !PARAM_NAME.test(t.name)) {
      throw new Error(
        `tensors[${i}].name must be a "<layer>/<param>" name, got ${JSON.stringify(t.name)}`,
      );
    }
    const name = t.name;
    if (Object.hasOwn(deltas, name)) throw new Error(`tensor "${name}" appears twice`);
    checkShape(name, t.shape);
    const shape = t.shape;
    if (expected) {
      const want = Object.hasOwn(expected, name) ? expected[name] : undefined;
      if (want === undefined) {
        throw new Error(`tensor "${name}" is not a known parameter name`);
      }
      const ws = shapeOf(want);
      if (ws.length !== shape.length || ws.some((d, k) => d !== shape[k])) {
        throw new Error(
          `tensor "${name}" has shape [${shape.join(', ')}], expected [${ws.join(', ')}]`,
        );
      }
    }
    if (t.dtype !== DTYPE_OF[codec]) {
      throw new Error(
        `tensor "${name}": dtype ${JSON.stringify(t.dtype)} does not match codec ${codec} (${DTYPE_OF[codec]})`,
      );
    }
    if (!(t.data instanceof Uint8Array)) throw new Error(`tensor "${name}": data must be binary`);
    const n = sizeOf(shape);
    const wantBytes = n * BYTES_PER[codec];
    if (t.data.byteLength !== wantBytes) {
      throw new Error(
        `tensor "${name}": data has ${t.data.byteLength} bytes, shape [${shape.join(', ')}] needs ${wantBytes} (truncated or wrong shape)`,
      );
    }
    const data = decodeData(name, codec, t.data, n, t.scale);
    for (let k = 0; k < n; k++) {
      if (!Number.isFinite(data[k])) {
        throw new Error(`tensor "${name}": non-finite value (${data[k]}) at ${k}`);
      }
    }
    deltas[name] = { shape: [...shape], data };
  });
  return { codec, deltas };
}

function decodeData(
  name: string,
  codec: Codec,
  bin: Uint8Array,
  n: number,
  scale: unknown,
): Float32Array {
  if (codec === 'fp32') return bytesToF32(bin);
  if (codec === 'fp16') {
    const table = halfToFloatTable();
    const out = new Float32Array(n);
    for (let i = 0; i < n; i++) out[i] = table[bin[2 * i] | (bin[2 * i + 1] << 8)];
    return out;
  }
  if (typeof scale !== 'number' || !Number.isFinite(scale) || scale < 0) {
    throw new Error(
      `tensor "${name}": int8 needs a finite non-negative scale, got ${JSON.stringify(scale)}`,
    );
  }
  const q = new Int8Array(bin.buffer, bin.byteOffset, n);
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = q[i] * scale;
  return out;
}
