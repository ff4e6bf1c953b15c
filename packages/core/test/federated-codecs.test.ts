import { describe, expect, it } from 'vitest';
import { encode } from '@msgpack/msgpack';
import fc from 'fast-check';
import {
  CODECS,
  decodeUpdate,
  decodeUpdateWithCodec,
  encodedSize,
  encodeUpdate,
  float16BitsToFloat32,
  float32ToFloat16Bits,
} from '../src/federated/codecs.js';
import type { NamedArrays } from '../src/tensors/named.js';
import { gaussian, mulberry32 } from '../src/random.js';

// Bit patterns produced by numpy 2.4 (np.float16(np.float32(x)).view(np.uint16)).
const NUMPY_F16: [number, number][] = [
  [1.0, 0x3c00],
  [-2.0, 0xc000],
  [65504.0, 0x7bff],
  [65519.0, 0x7bff],
  [65520.0, 0x7c00],
  [2 ** -24, 0x0001],
  [2 ** -25, 0x0000],
  [1.5 * 2 ** -25, 0x0001],
  [2 ** -14, 0x0400],
  [1 / 3, 0x3555],
  [1 + 2 ** -11, 0x3c00],
  [1 + 3 * 2 ** -11, 0x3c02],
  [0.1, 0x2e66],
  [-0.0, 0x8000],
  [1e-8, 0x0000],
  [6.1e-5, 0x03ff],
  [3.14159265, 0x4248],
  [1e5, 0x7c00],
  [2 ** -14 - 2 ** -25, 0x0400],
  [2 ** -24 * 3.5, 0x0004],
  [0.5 + 2 ** -12, 0x3800],
  [1000.3, 0x63d1],
];

/**
 * Independent reference: the nearest finite half by exhaustive search over all finite
 * non-negative halves (sorted by value), ties to the even bit pattern; beyond the largest
 * half + half an ulp -> Inf.
 */
const positiveHalves = Array.from({ length: 0x7c00 }, (_, h) => h); // 0x0000..0x7bff ascending
function referenceHalf(x: number): number {
  const f = Math.fround(x);
  if (Number.isNaN(f)) return 0x7e00;
  const sign = f < 0 || Object.is(f, -0) ? 0x8000 : 0;
  const a = Math.abs(f);
  if (a >= 65520) return sign | 0x7c00;
  let lo = 0;
  let hi = positiveHalves.length - 1;
  while (hi - lo > 1) {
    const mid = (lo + hi) >> 1;
    if (float16BitsToFloat32(positiveHalves[mid]) <= a) lo = mid;
    else hi = mid;
  }
  const dl = a - float16BitsToFloat32(lo);
  const dh = float16BitsToFloat32(hi) - a;
  let h: number;
  if (dl < dh) h = lo;
  else if (dh < dl) h = hi;
  else h = lo % 2 === 0 ? lo : hi;
  return sign | h;
}

describe('float16 conversion', () => {
  it('matches numpy bit patterns', () => {
    for (const [x, bits] of NUMPY_F16) {
      expect(float32ToFloat16Bits(x), `x=${x}`).toBe(bits);
    }
  });

  it('handles Inf and NaN', () => {
    expect(float32ToFloat16Bits(Infinity)).toBe(0x7c00);
    expect(float32ToFloat16Bits(-Infinity)).toBe(0xfc00);
    expect(float32ToFloat16Bits(NaN)).toBe(0x7e00);
    expect(float16BitsToFloat32(0x7c00)).toBe(Infinity);
    expect(float16BitsToFloat32(0xfc00)).toBe(-Infinity);
    expect(Number.isNaN(float16BitsToFloat32(0x7e00))).toBe(true);
  });

  it('decodes known patterns', () => {
    expect(float16BitsToFloat32(0x3c00)).toBe(1);
    expect(float16BitsToFloat32(0x7bff)).toBe(65504);
    expect(float16BitsToFloat32(0x0001)).toBe(2 ** -24);
    expect(float16BitsToFloat32(0x03ff)).toBe(1023 * 2 ** -24);
    expect(float16BitsToFloat32(0x0400)).toBe(2 ** -14);
    expect(float16BitsToFloat32(0xc000)).toBe(-2);
    expect(Object.is(float16BitsToFloat32(0x8000), -0)).toBe(true);
  });

  it('round-trips every finite half exactly', () => {
    for (let h = 0; h < 0x10000; h++) {
      if ((h & 0x7c00) === 0x7c00) continue;
      expect(float32ToFloat16Bits(float16BitsToFloat32(h))).toBe(h);
    }
  });

  it('agrees with the exhaustive nearest-even reference on random floats and ties', () => {
    const r = mulberry32(123);
    const xs: number[] = [];
    for (let i = 0; i < 4000; i++) {
      // Log-uniform magnitudes across subnormal, normal and overflow ranges.
      xs.push((r() < 0.5 ? -1 : 1) * 2 ** (r() * 46 - 30));
    }
    // Exact midpoints between neighbouring halves (ties), normal and subnormal.
    for (let i = 0; i < 500; i++) {
      const h = Math.floor(r() * 0x7bff);
      xs.push((float16BitsToFloat32(h) + float16BitsToFloat32(h + 1)) / 2);
    }
    for (const x of xs) expect(float32ToFloat16Bits(x), `x=${x}`).toBe(referenceHalf(x));
  });
});

function randomDeltas(seed: number, scale = 0.01): NamedArrays {
  const r = mulberry32(seed);
  const shapes: Record<string, number[]> = {
    'block0.adapter/down_kernel': [48, 3],
    'block0.adapter/down_bias': [3],
    'block0.adapter/up_kernel': [3, 48],
    'head/kernel': [48, 20],
    'empty/x': [0],
  };
  const out: NamedArrays = {};
  for (const [k, s] of Object.entries(shapes)) {
    const n = s.reduce((a, b) => a * b, 1);
    out[k] = { shape: s, data: Float32Array.from({ length: n }, () => gaussian(r) * scale) };
  }
  return out;
}

const shapesOf = (d: NamedArrays) =>
  Object.fromEntries(Object.entries(d).map(([k, v]) => [k, v.shape]));

describe('encodeUpdate / decodeUpdate round trip', () => {
  const deltas = randomDeltas(1);

  it('fp32 is exact and keeps names and shapes', () => {
    const out = decodeUpdate(encodeUpdate(deltas, 'fp32'), shapesOf(deltas));
    expect(Object.keys(out)).toEqual(Object.keys(deltas));
    for (const [k, v] of Object.entries(deltas)) {
      expect(out[k].shape).toEqual(v.shape);
      expect(Array.from(out[k].data)).toEqual(Array.from(v.data));
    }
  });

  it('fp16 has relative error <= 2^-11 in the normal range', () => {
    const big = randomDeltas(2, 100); // |x| mostly in the normal range
    const out = decodeUpdate(encodeUpdate(big, 'fp16'));
    let checked = 0;
    for (const [k, v] of Object.entries(big)) {
      for (let i = 0; i < v.data.length; i++) {
        const x = v.data[i];
        const y = out[k].data[i];
        expect(y).toBe(float16BitsToFloat32(referenceHalf(x)));
        if (Math.abs(x) >= 2 ** -14) {
          expect(Math.abs(y - x) / Math.abs(x)).toBeLessThanOrEqual(2 ** -11);
          checked++;
        } else {
          expect(Math.abs(y - x)).toBeLessThanOrEqual(2 ** -25); // half a subnormal step
        }
      }
    }
    expect(checked).toBeGreaterThan(1000);
  });

  it('int8 has absolute error <= scale/2 with scale = max|x|/127', () => {
    const out = decodeUpdate(encodeUpdate(deltas, 'int8'), deltas);
    for (const [k, v] of Object.entries(deltas)) {
      let maxAbs = 0;
      for (const x of v.data) maxAbs = Math.max(maxAbs, Math.abs(x));
      const scale = maxAbs / 127;
      // + float32 rounding of the dequantised value
      const bound = scale / 2 + maxAbs * 2 ** -24;
      let worst = 0;
      for (let i = 0; i < v.data.length; i++) {
        worst = Math.max(worst, Math.abs(out[k].data[i] - v.data[i]));
      }
      expect(worst, k).toBeLessThanOrEqual(bound);
      // The extreme value survives almost exactly.
      if (maxAbs > 0) {
        const maxOut = Math.max(...Array.from(out[k].data, Math.abs));
        expect(Math.abs(maxOut - maxAbs)).toBeLessThanOrEqual(maxAbs * 1e-6);
      }
    }
  });

  it('int8 of an all-zero tensor decodes to zeros', () => {
    const z = { 'a/b': { shape: [2, 3], data: new Float32Array(6) } };
    expect(Array.from(decodeUpdate(encodeUpdate(z, 'int8'))['a/b'].data)).toEqual([
      0, 0, 0, 0, 0, 0,
    ]);
  });

  it('reports the codec; size = payload + a small per-tensor header', () => {
    const n = Object.values(deltas).reduce((a, v) => a + v.data.length, 0);
    const per = { fp32: 4, fp16: 2, int8: 1 } as const;
    for (const c of CODECS) {
      const overhead = encodeUpdate(deltas, c).byteLength - per[c] * n;
      expect(overhead, c).toBeGreaterThan(0);
      expect(overhead, c).toBeLessThan(80 * Object.keys(deltas).length);
    }
    const big = { 'x/y': { shape: [100, 100], data: new Float32Array(10000).fill(0.5) } };
    const b = Object.fromEntries(CODECS.map((c) => [c, encodeUpdate(big, c).byteLength]));
    expect(b.fp32 / b.fp16).toBeGreaterThan(1.99);
    expect(b.fp32 / b.int8).toBeGreaterThan(3.97);
    expect(decodeUpdateWithCodec(encodeUpdate(deltas, 'fp16')).codec).toBe('fp16');
  });

  it('encodedSize equals the real encoded length', () => {
    for (const c of CODECS) {
      if (c === 'int8') continue; // below: the all-zero "empty/x" has an integer scale
      expect(encodedSize(deltas, c), c).toBe(encodeUpdate(deltas, c).byteLength);
      expect(encodedSize(shapesOf(deltas), c), c).toBe(encodeUpdate(deltas, c).byteLength);
    }
    // A tensor large enough for a bin32 header (> 64 KiB of payload).
    const big = { 'x/y': { shape: [20000], data: new Float32Array(20000).fill(0.25) } };
    big['x/y'].data[0] = 0.3;
    for (const c of CODECS) expect(encodedSize(big, c)).toBe(encodeUpdate(big, c).byteLength);
    // int8: exact when every scale is a non-integer, an upper bound (by < 9 bytes/tensor) else.
    const { 'empty/x': empty, ...nonEmpty } = deltas;
    expect(encodedSize(nonEmpty, 'int8')).toBe(encodeUpdate(nonEmpty, 'int8').byteLength);
    const slack = encodedSize(deltas, 'int8') - encodeUpdate(deltas, 'int8').byteLength;
    expect(empty.shape).toEqual([0]);
    expect(slack).toBeGreaterThanOrEqual(0);
    expect(slack).toBeLessThan(9);
  });

  it('copies out of a pooled buffer (decoded data survives reuse of the input)', () => {
    const bytes = encodeUpdate(deltas, 'fp32');
    // Simulate a ws Buffer: the frame sits at an odd offset inside a larger pooled buffer.
    const pool = new Uint8Array(bytes.length + 3);
    pool.set(bytes, 3);
    const view = pool.subarray(3);
    const out = decodeUpdate(view);
    pool.fill(0xff);
    expect(Array.from(out['head/kernel'].data)).toEqual(Array.from(deltas['head/kernel'].data));
  });
});

describe('codec validation', () => {
  const good = {
    'block0.adapter/w': { shape: [2, 2], data: Float32Array.from([1, 2, 3, 4]) },
  };
  const wire = (tensors: unknown[], extra: Record<string, unknown> = {}) =>
    encode({ v: 1, codec: 'fp32', tensors, ...extra });
  const f32bytes = (xs: number[]) => new Uint8Array(Float32Array.from(xs).buffer);

  it('encode rejects NaN/Inf, bad shapes and bad codecs', () => {
    expect(() =>
      encodeUpdate({ 'a/b': { shape: [2], data: Float32Array.from([0, NaN]) } }, 'fp16'),
    ).toThrow(/tensor "a\/b": non-finite value \(NaN\) at 1/);
    expect(() =>
      encodeUpdate({ 'a/b': { shape: [3], data: Float32Array.from([0, 1]) } }, 'fp32'),
    ).toThrow(/tensor "a\/b": shape \[3\] needs 3 values, data has 2/);
    expect(() => encodeUpdate(good, 'bf16' as never)).toThrow(
      /unknown codec "bf16"; valid codecs: fp32, fp16, int8/,
    );
    expect(() =>
      encodeUpdate({ 'a/b': { shape: [1], data: Float32Array.from([70000]) } }, 'fp16'),
    ).toThrow(/outside the fp16 range/);
    expect(() =>
      encodeUpdate({ weights: { shape: [1], data: Float32Array.from([1]) } }, 'fp32'),
    ).toThrow(/tensor name "weights" is not of the form "<layer>\/<param>"/);
  });

  it('decode rejects unknown names and wrong shapes against the expected map', () => {
    const bytes = encodeUpdate(good, 'fp32');
    expect(() => decodeUpdate(bytes, { 'block1.adapter/w': [2, 2] })).toThrow(
      /tensor "block0.adapter\/w" is not a known parameter name/,
    );
    expect(() => decodeUpdate(bytes, { 'block0.adapter/w': [4] })).toThrow(
      /tensor "block0.adapter\/w" has shape \[2, 2\], expected \[4\]/,
    );
    expect(decodeUpdate(bytes, { 'block0.adapter/w': [2, 2], 'other/x': [1] })).toHaveProperty(
      'block0.adapter/w',
    );
  });

  it('decode rejects NaN/Inf on the wire', () => {
    const bytes = wire([
      { name: 'a/b', shape: [2], dtype: 'float32', data: f32bytes([1, Infinity]) },
    ]);
    expect(() => decodeUpdate(bytes)).toThrow(/tensor "a\/b": non-finite value \(Infinity\) at 1/);
    const half = encode({
      v: 1,
      codec: 'fp16',
      tensors: [{ name: 'a/b', shape: [1], dtype: 'float16', data: Uint8Array.from([0x00, 0x7e]) }],
    });
    expect(() => decodeUpdate(half)).toThrow(/non-finite value \(NaN\)/);
  });

  it('decode rejects truncated frames and truncated tensor data', () => {
    const bytes = encodeUpdate(good, 'fp32');
    expect(() => decodeUpdate(bytes.subarray(0, bytes.length - 5))).toThrow(
      /not valid msgpack \(truncated or corrupt\)/,
    );
    const short = wire([
      { name: 'a/b', shape: [2, 2], dtype: 'float32', data: f32bytes([1, 2, 3]) },
    ]);
    expect(() => decodeUpdate(short)).toThrow(
      /tensor "a\/b": data has 12 bytes, shape \[2, 2\] needs 16/,
    );
  });

  it('decode rejects bad codec, version, dtype, scale, names, duplicates', () => {
    const t = { name: 'a/b', shape: [1], dtype: 'float32', data: f32bytes([1]) };
    expect(() => decodeUpdate(wire([t], { codec: 'zip' }))).toThrow(/unknown codec "zip"/);
    expect(() => decodeUpdate(wire([t], { v: 2 }))).toThrow(/version 2 is not supported/);
    expect(() => decodeUpdate(wire([{ ...t, dtype: 'int8' }]))).toThrow(
      /dtype "int8" does not match codec fp32/,
    );
    expect(() => decodeUpdate(wire([t, t]))).toThrow(/tensor "a\/b" appears twice/);
    expect(() => decodeUpdate(wire([{ ...t, name: 5 }]))).toThrow(/tensors\[0\].name/);
    expect(() => decodeUpdate(wire([{ ...t, name: '__proto__' }]))).toThrow(
      /tensors\[0\].name must be a "<layer>\/<param>" name, got "__proto__"/,
    );
    // An inherited property name must not pass the expected-names check.
    const ctor = wire([{ ...t, name: 'constructor/x' }]);
    expect(() => decodeUpdate(ctor, { 'a/b': [1] })).toThrow(/"constructor\/x" is not a known/);
    expect(() => decodeUpdate(wire([{ ...t, shape: [-1] }]))).toThrow(/shape must be/);
    expect(() => decodeUpdate(wire([{ ...t, data: [1, 2] }]))).toThrow(/data must be binary/);
    const int8 = encode({
      v: 1,
      codec: 'int8',
      tensors: [{ name: 'a/b', shape: [1], dtype: 'int8', data: Uint8Array.from([3]) }],
    });
    expect(() => decodeUpdate(int8)).toThrow(/int8 needs a finite non-negative scale/);
    expect(() => decodeUpdate(encode([1, 2]))).toThrow(/msgpack map/);
    expect(() => decodeUpdate(encode({ v: 1, codec: 'fp32' }))).toThrow(
      /"tensors" must be an array/,
    );
  });
});

describe('codec robustness', () => {
  it('fp32 round-trips arbitrary finite floats bit-exactly (incl. -0, subnormals)', () => {
    fc.assert(
      fc.property(
        fc.array(fc.float({ noNaN: true, noDefaultInfinity: true }), { maxLength: 64 }),
        (xs) => {
          const d = { 'l/p': { shape: [xs.length], data: Float32Array.from(xs) } };
          const out = decodeUpdate(encodeUpdate(d, 'fp32'))['l/p'].data;
          expect(new Uint32Array(out.buffer)).toEqual(new Uint32Array(d['l/p'].data.buffer));
        },
      ),
      // Fresh seed every run; fast-check prints the seed and path of a failure to replay it.
      { numRuns: 200 },
    );
  });

  it('corrupted frames either decode to valid finite tensors or throw an Error', () => {
    const deltas = randomDeltas(9);
    const expected = shapesOf(deltas);
    const r = mulberry32(77);
    let thrown = 0;
    for (const codec of CODECS) {
      const good = encodeUpdate(deltas, codec);
      for (let trial = 0; trial < 300; trial++) {
        const bad = good.slice();
        const flips = 1 + Math.floor(r() * 4);
        for (let k = 0; k < flips; k++) bad[Math.floor(r() * bad.length)] = Math.floor(r() * 256);
        const cut = r() < 0.2 ? bad.subarray(0, Math.floor(r() * bad.length)) : bad;
        try {
          const out = decodeUpdate(cut, expected);
          for (const [name, t] of Object.entries(out)) {
            expect(expected[name]).toEqual(t.shape);
            expect(t.data.length).toBe(t.shape.reduce((a, b) => a * b, 1));
            expect(t.data.every(Number.isFinite)).toBe(true);
          }
        } catch (e) {
          expect(e).toBeInstanceOf(Error);
          expect((e as Error).message.length).toBeGreaterThan(10);
          thrown++;
        }
      }
    }
    expect(thrown).toBeGreaterThan(100); // most corruptions are caught
  });
});
