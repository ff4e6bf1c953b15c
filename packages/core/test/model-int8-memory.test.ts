// Frozen weights kept int8 in memory and dequantized per use, against the fp32 path (the same
// checkpoint dequantized once at load). Both compute q * scale in float32, so the documented
// tolerance is zero: logits and trained deltas are bitwise equal.
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createModel,
  disposeBatch,
  encodeBatch,
  loadModel,
  packInt8x3,
  readCheckpoint,
  unpackInt8x3,
  saveModel,
  type VqaModel,
} from '../src/model/index.js';
import { initNodeBackend } from '../src/node/index.js';
import { trainLayers } from '../src/train/index.js';
import { TOY_ANSWERS, toySamples } from './model-helpers.js';

let bytes: Uint8Array;
beforeAll(async () => {
  await initNodeBackend('cpu');
  const m = createModel('tiny', { seed: 7, answers: TOY_ANSWERS });
  bytes = saveModel(m);
  m.dispose();
});

for (const backend of ['cpu', 'wasm'] as const) {
  describe(`int8 weights in memory (${backend})`, () => {
    let int8: VqaModel;
    let fp32: VqaModel;
    beforeAll(async () => {
      await initNodeBackend(backend);
      int8 = loadModel(bytes);
      fp32 = loadModel(bytes, { weights: 'fp32' });
    });
    afterAll(() => {
      int8.dispose();
      fp32.dispose();
    });

    it('keeps every frozen 2-D weight int8 and the rest fp32', () => {
      const ck = readCheckpoint(bytes);
      expect(int8.int8ParamNames().sort()).toEqual([...ck.quantized].sort());
      expect(fp32.int8ParamNames()).toEqual([]);
      expect(int8.int8ParamNames()).toContain('block0/mlp1_kernel');
      expect(int8.int8ParamNames()).toContain('text_embed/word');
    });

    it('device storage (packed on the backend, unpacked by tf ops) gives bitwise the same', () => {
      const dev = loadModel(bytes, { int8Storage: 'device' });
      const st = dev.int8Storages();
      expect(st['block0/mlp1_kernel']).toBe('device');
      expect(st['text_embed/word']).toBe('host'); // tables are gathered row by row on the host
      expect(int8.int8Storages()['block0/mlp1_kernel']).toBe('host'); // auto on cpu / wasm
      const batch = encodeBatch(toySamples(4, 6), dev);
      const before = tf.memory().numTensors;
      const a = tf.tidy(() => dev.apply({}, batch).dataSync());
      const b = tf.tidy(() => fp32.apply({}, batch).dataSync());
      expect(tf.memory().numTensors).toBe(before);
      expect(Array.from(a)).toEqual(Array.from(b));
      const r = dev.residentBytes().total / fp32.residentBytes().total;
      console.log(`tiny device-storage ratio (${backend}): ${r.toFixed(3)}`);
      expect(r).toBeLessThanOrEqual(0.4);
      expect(Buffer.from(saveModel(dev)).equals(Buffer.from(bytes))).toBe(true);
      disposeBatch(batch);
      dev.dispose();
    });

    it('gives bitwise the logits of the fp32 path, and leaks no tensor', () => {
      const batch = encodeBatch(toySamples(5, 1), int8);
      const before = tf.memory().numTensors;
      const a = tf.tidy(() => int8.apply({}, batch).dataSync());
      const b = tf.tidy(() => fp32.apply({}, batch).dataSync());
      expect(tf.memory().numTensors).toBe(before);
      expect(Array.from(a)).toEqual(Array.from(b));
      const pre = int8.forwardPrefix(batch, 3);
      expect(tf.memory().numTensors).toBe(before + 2);
      const c = tf.tidy(() => int8.apply({}, batch, { prefix: pre }).dataSync());
      expect(Array.from(c)).toEqual(Array.from(b));
      tf.dispose([pre.state.x, pre.state.bias]);
      disposeBatch(batch);
    });

    it('trains to bitwise the deltas of the fp32 path', async () => {
      const samples = toySamples(9, 2);
      const opts = {
        layers: ['block1.adapter', 'block4.adapter'],
        steps: 2,
        batchSize: 4,
        seed: 3,
      };
      const a = loadModel(bytes);
      const b = loadModel(bytes, { weights: 'fp32' });
      const ra = await trainLayers(a, samples, opts);
      const rb = await trainLayers(b, samples, opts);
      for (const n of Object.keys(rb.deltas))
        expect(Array.from(ra.deltas[n].data)).toEqual(Array.from(rb.deltas[n].data));
      a.dispose();
      b.dispose();
    });

    it('holds <= 40 % of the fp32 bytes (tiny), in backend memory too', () => {
      const ri = int8.residentBytes();
      const rf = fp32.residentBytes();
      console.log(
        `tiny resident bytes (${backend}): int8 ${ri.total} (${ri.int8} int8 + ${ri.fp32Tensors} fp32), fp32 ${rf.total}, ratio ${(ri.total / rf.total).toFixed(3)}`,
      );
      expect(ri.total / rf.total).toBeLessThanOrEqual(0.4);
      const t0 = tf.memory().numBytes;
      const m = loadModel(bytes);
      const t1 = tf.memory().numBytes;
      const f = loadModel(bytes, { weights: 'fp32' });
      const t2 = tf.memory().numBytes;
      expect(t1 - t0).toBe(ri.fp32Tensors);
      expect(t2 - t1).toBe(rf.fp32Tensors);
      m.dispose();
      f.dispose();
    });
  });
}

describe('packInt8x3', () => {
  it('round-trips every int8 value at every position and length', () => {
    for (const n of [1, 2, 3, 4, 5, 255, 256, 257]) {
      const q = Int8Array.from({ length: n }, (_, i) => ((i * 73 + n) % 255) - 127);
      q[0] = -128; // the extremes
      q[n - 1] = 127;
      const p = packInt8x3(q);
      expect(p.length).toBe(Math.ceil(n / 3));
      for (const v of p) expect(Number.isInteger(v) && v >= 0 && v < 2 ** 24).toBe(true);
      expect(Array.from(unpackInt8x3(p, n))).toEqual(Array.from(q));
    }
  });
});

describe('int8 weights in memory: checkpoints and updates', () => {
  beforeAll(async () => {
    await initNodeBackend('cpu');
  });

  it('saves its int8 tensors unchanged (load + save reproduces the file)', () => {
    const m = loadModel(bytes);
    expect(Buffer.from(saveModel(m)).equals(Buffer.from(bytes))).toBe(true);
    m.dispose();
  });

  it('quantizeFrozen on a fresh model equals loading its int8 checkpoint', () => {
    const m = createModel('tiny', { seed: 7, answers: TOY_ANSWERS });
    m.quantizeFrozen();
    const l = loadModel(bytes, { weights: 'fp32' });
    const batch = encodeBatch(toySamples(3, 4), m);
    const a = tf.tidy(() => m.apply({}, batch).dataSync());
    const b = tf.tidy(() => l.apply({}, batch).dataSync());
    expect(Array.from(a)).toEqual(Array.from(b));
    disposeBatch(batch);
    m.dispose();
    l.dispose();
  });

  it("createModel with weights 'int8' equals quantizeFrozen on the fp32 model", () => {
    const a = createModel('tiny', { seed: 7, answers: TOY_ANSWERS, weights: 'int8' });
    const b = loadModel(bytes);
    expect(a.int8ParamNames().sort()).toEqual(b.int8ParamNames().sort());
    expect(Buffer.from(saveModel(a)).equals(Buffer.from(bytes))).toBe(true);
    a.dispose();
    b.dispose();
  });

  it('setParams on an int8 weight replaces it with fp32; tensor() copies are released', () => {
    const m = loadModel(bytes);
    const name = 'block2/q_kernel';
    const before = tf.memory().numTensors;
    const t = m.tensor(name);
    expect(Array.from(t.dataSync())).toEqual(Array.from(m.getParams([name])[name].data));
    expect(tf.memory().numTensors).toBe(before + 1);
    m.releaseDequantized();
    expect(tf.memory().numTensors).toBe(before);
    const v = m.getParams([name])[name];
    v.data = v.data.map((x) => x * 2);
    m.setParams({ [name]: v });
    expect(m.int8ParamNames()).not.toContain(name);
    expect(m.quantizedWeight(name)).toBeUndefined();
    expect(Array.from(m.tensor(name).dataSync())).toEqual(Array.from(v.data));
    m.dispose();
  });

  it('rejects a bad weights option by name', () => {
    expect(() => loadModel(bytes, { weights: 'int4' as 'int8' })).toThrow(/weights must be/);
  });
});
