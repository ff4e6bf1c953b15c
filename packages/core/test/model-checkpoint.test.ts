import { beforeAll, describe, expect, it } from 'vitest';
import {
  createModel,
  dequantizeInt8,
  f16ToF32,
  f32ToF16,
  frozenBytes,
  loadModel,
  quantizeInt8,
  readSafetensors,
  resolveConfig,
  saveModel,
  writeSafetensors,
} from '../src/model/index.js';
import { initNodeBackend } from '../src/node/index.js';
import { mulberry32, gaussian } from '../src/random.js';
import { evaluate, trainLayers } from '../src/train/index.js';
import { TOY_ANSWERS, toySamples } from './model-helpers.js';

beforeAll(async () => {
  await initNodeBackend('wasm');
});

const small = resolveConfig('tiny', { numLayers: 2 });
/** Same geometry with a short vocabulary, for tests that never tokenize text. */
const compact = resolveConfig('tiny', { numLayers: 2, vocabSize: 1000 });

function sameBits(a: Float32Array, b: Float32Array): boolean {
  if (a.length !== b.length) return false;
  const x = new Uint32Array(a.buffer, a.byteOffset, a.length);
  const y = new Uint32Array(b.buffer, b.byteOffset, b.length);
  for (let i = 0; i < x.length; i++) if (x[i] !== y[i]) return false;
  return true;
}

describe('safetensors', () => {
  it('round-trips F32, I8, U8, I32 exactly and F16 to half precision', () => {
    const f = new Float32Array([1.5, -2.25, 3e-8, 1e30, -0]);
    const bytes = writeSafetensors(
      {
        a: { dtype: 'F32', shape: [5], data: f },
        b: { dtype: 'I8', shape: [2, 2], data: new Int8Array([-127, 0, 5, 127]) },
        c: { dtype: 'U8', shape: [3], data: new Uint8Array([0, 128, 255]) },
        d: { dtype: 'I32', shape: [1], data: new Int32Array([-123456]) },
        e: { dtype: 'F16', shape: [4], data: new Float32Array([1, -2, 0.1, 65504]) },
      },
      { hello: 'world' },
    );
    // Header length field is little-endian and data starts 8-byte aligned.
    const hlen = Number(new DataView(bytes.buffer).getBigUint64(0, true));
    expect((8 + hlen) % 8).toBe(0);
    const r = readSafetensors(bytes);
    expect(r.metadata).toEqual({ hello: 'world' });
    expect(Array.from(r.tensors.a.data as Float32Array)).toEqual(Array.from(f));
    expect(Array.from(r.tensors.b.data as Int8Array)).toEqual([-127, 0, 5, 127]);
    expect(r.tensors.b.shape).toEqual([2, 2]);
    expect(Array.from(r.tensors.c.data as Uint8Array)).toEqual([0, 128, 255]);
    expect(Array.from(r.tensors.d.data as Int32Array)).toEqual([-123456]);
    expect(Array.from(r.tensors.e.data as Float32Array)).toEqual([1, -2, 0.0999755859375, 65504]);
  });

  it('encodes half floats like IEEE 754 binary16 (reference bit patterns)', () => {
    const cases: [number, number][] = [
      [1, 0x3c00],
      [-2, 0xc000],
      [0.1, 0x2e66],
      [65504, 0x7bff],
      [1e6, 0x7c00],
      [2 ** -24, 0x0001],
      [2 ** -14, 0x0400],
      [0, 0],
      [1 + 2 ** -11, 0x3c00], // tie rounds to even
      [1 + 3 * 2 ** -11, 0x3c02],
    ];
    for (const [v, bits] of cases) {
      expect(f32ToF16(v), String(v)).toBe(bits);
      if (bits !== 0x7c00)
        expect(Math.abs(f16ToF32(bits) - v)).toBeLessThanOrEqual(Math.abs(v) * 2 ** -11 + 1e-12);
    }
    expect(Number.isNaN(f16ToF32(f32ToF16(NaN)))).toBe(true);
  });

  it('reads a file laid out by hand per the spec (independent of the writer)', () => {
    const header = JSON.stringify({
      x: { dtype: 'F32', shape: [2], data_offsets: [0, 8] },
      __metadata__: { k: 'v' },
    });
    const hb = new TextEncoder().encode(header);
    const buf = new Uint8Array(8 + hb.length + 8);
    const dv = new DataView(buf.buffer);
    dv.setUint32(0, hb.length, true);
    buf.set(hb, 8);
    dv.setFloat32(8 + hb.length, 0.5, true);
    dv.setFloat32(12 + hb.length, -4, true);
    const r = readSafetensors(buf);
    expect(Array.from(r.tensors.x.data as Float32Array)).toEqual([0.5, -4]);
    expect(r.metadata.k).toBe('v');
  });

  it('rejects truncated and corrupt files with clear errors', () => {
    const good = writeSafetensors({ a: { dtype: 'F32', shape: [4], data: new Float32Array(4) } });
    expect(() => readSafetensors(good.slice(0, 5))).toThrow(
      /shorter than the 8-byte header length/,
    );
    expect(() => readSafetensors(good.slice(0, 20))).toThrow(/header length \d+ exceeds/);
    expect(() => readSafetensors(good.slice(0, good.length - 4))).toThrow(
      /only 12 data bytes follow the header \(truncated\?\)/,
    );
    const bad = good.slice();
    bad[9] = 0x7b; // corrupt the JSON: '{"' -> '{{'
    expect(() => readSafetensors(bad)).toThrow(/header is not valid UTF-8 JSON/);
    const mk = (h: object, dataLen = 16) => {
      const hb = new TextEncoder().encode(JSON.stringify(h));
      const b = new Uint8Array(8 + hb.length + dataLen);
      new DataView(b.buffer).setUint32(0, hb.length, true);
      b.set(hb, 8);
      return b;
    };
    expect(() =>
      readSafetensors(mk({ a: { dtype: 'Q4', shape: [1], data_offsets: [0, 1] } })),
    ).toThrow(/tensor "a": unsupported dtype "Q4"/);
    expect(() =>
      readSafetensors(mk({ a: { dtype: 'F32', shape: [3], data_offsets: [0, 8] } })),
    ).toThrow(/needs 12 bytes, data_offsets span 8/);
    expect(() =>
      readSafetensors(
        mk({
          a: { dtype: 'F32', shape: [2], data_offsets: [0, 8] },
          b: { dtype: 'F32', shape: [2], data_offsets: [4, 12] },
        }),
      ),
    ).toThrow(/overlap/);
  });
});

describe('int8 quantization', () => {
  it('per-element error <= scale/2 on both channel axes', () => {
    const rand = mulberry32(3);
    const R = 17;
    const C = 9;
    const data = Float32Array.from({ length: R * C }, (_, i) => gaussian(rand) * (1 + (i % C)));
    for (const axis of [0, 1] as const) {
      const q = quantizeInt8(data, [R, C], axis);
      expect(q.scales.length).toBe(axis === 0 ? R : C);
      const back = dequantizeInt8(q);
      for (let r = 0; r < R; r++) {
        for (let c = 0; c < C; c++) {
          const s = q.scales[axis === 0 ? r : c];
          expect(Math.abs(back[r * C + c] - data[r * C + c])).toBeLessThanOrEqual(
            (s / 2) * (1 + 1e-5),
          );
        }
      }
      // The largest magnitude of each channel maps to +-127.
      expect(Math.max(...Array.from(q.q).map(Math.abs))).toBe(127);
    }
  });

  it('handles all-zero channels and rejects non-finite values', () => {
    const q = quantizeInt8(new Float32Array([0, 1, 0, -2]), [2, 2], 1);
    expect(q.scales[0]).toBe(0);
    const back = dequantizeInt8(q);
    expect([back[0], back[2]]).toEqual([0, 0]);
    expect(back[3]).toBeCloseTo(-2, 6);
    expect(Math.abs(back[1] - 1)).toBeLessThanOrEqual(q.scales[1] / 2);
    expect(() => quantizeInt8(new Float32Array([NaN, 1]), [1, 2], 0)).toThrow(
      /non-finite value at \[0, 0\]/,
    );
  });
});

describe('model checkpoints', () => {
  it('fp32 round trip is exact for every tensor, config and answers', () => {
    const m = createModel(compact, { seed: 4, answers: TOY_ANSWERS });
    const m2 = loadModel(saveModel(m, { quantize: 'fp32' }));
    expect(m2.config).toEqual(m.config);
    expect(m2.answers).toEqual(TOY_ANSWERS);
    const a = m.getParams();
    const b = m2.getParams();
    expect(Object.keys(b).sort()).toEqual(Object.keys(a).sort());
    const differing = Object.keys(a).filter((k) => !sameBits(a[k].data, b[k].data));
    expect(differing).toEqual([]);
  });

  it('int8 round trip: frozen 2-D tensors within scale/2, 1-D and trainable tensors exact; int8 round trip is idempotent', () => {
    const m = createModel(compact, { seed: 4, answers: TOY_ANSWERS });
    const bytes = saveModel(m);
    const m2 = loadModel(bytes);
    const a = m.getParams();
    const b = m2.getParams();
    const violations: string[] = [];
    for (const k of Object.keys(a)) {
      const s = m.spec(k);
      if (s.frozen && s.quantAxis !== undefined) {
        const q = quantizeInt8(a[k].data, s.shape, s.quantAxis);
        const C = s.shape[1];
        a[k].data.forEach((v, i) => {
          const sc = q.scales[s.quantAxis === 0 ? Math.floor(i / C) : i % C];
          if (Math.abs(v - b[k].data[i]) > (sc / 2) * (1 + 1e-5)) violations.push(`${k}[${i}]`);
        });
      } else if (!sameBits(a[k].data, b[k].data)) {
        violations.push(k);
      }
    }
    expect(violations).toEqual([]);
    // Saving the dequantized model again yields the same bytes (stable at rest / on the wire).
    expect(saveModel(m2)).toEqual(bytes);
  });

  it('reports int8 vs fp32 bytes of the frozen base and stores about a quarter', () => {
    const fb = frozenBytes(compact);
    const m = createModel(compact, { seed: 4, answers: TOY_ANSWERS });
    expect(fb.frozenParams).toBe(m.countParams().frozen);
    expect(fb.fp32).toBe(4 * fb.frozenParams);
    expect(fb.int8 / fb.fp32).toBeLessThan(0.3);
    const int8 = saveModel(m).length;
    const fp32 = saveModel(m, { quantize: 'fp32' }).length;
    expect(int8 / fp32).toBeLessThan(0.35);
  });

  it('int8 base keeps eval accuracy within 1 point of fp32', async () => {
    const m = createModel(small, { seed: 6, answers: TOY_ANSWERS });
    await trainLayers(m, toySamples(48, 1), {
      layers: m.layerNames(),
      steps: 60,
      batchSize: 16,
      lr: 3e-3,
      seed: 2,
    });
    const test = toySamples(150, 9);
    const fp = await evaluate(m, test);
    const q = await evaluate(loadModel(saveModel(m)), test);
    expect(fp.accuracy).toBeGreaterThan(0.5);
    expect(Math.abs(q.accuracy - fp.accuracy)).toBeLessThanOrEqual(0.01 + 1e-9);
    expect(Math.abs(q.loss - fp.loss)).toBeLessThan(0.01 * fp.loss);
  });

  it('base-only checkpoints re-create adapters from a seed; bad checkpoints give clear errors', () => {
    const m = createModel(compact, { seed: 4, answers: TOY_ANSWERS });
    const base = saveModel(m, { include: 'base' });
    const names = Object.keys(readSafetensors(base).tensors);
    expect(names.some((n) => n.includes('.adapter/'))).toBe(false);
    expect(names).toContain('head/kernel');
    const m2 = loadModel(base, { seed: 4 });
    expect(m2.getParams(['block1.adapter/down_kernel'])).toEqual(
      m.getParams(['block1.adapter/down_kernel']),
    );
    const plain = writeSafetensors({ a: { dtype: 'F32', shape: [1], data: [1] } });
    expect(() => loadModel(plain)).toThrow(
      /__metadata__.format is undefined, expected "focus-fl-vqa\/1"/,
    );
    expect(() => loadModel(base.slice(0, base.length - 100))).toThrow(/truncated/);
  });
});
