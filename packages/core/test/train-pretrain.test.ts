import { beforeAll, describe, expect, it } from 'vitest';
import { createModel, PRESETS, resolveConfig } from '../src/model/index.js';
import { initNodeBackend } from '../src/node/index.js';
import { encodeBatch, disposeBatch } from '../src/model/index.js';
import {
  forwardPerBlock,
  pretrainBase,
  pretrainLr,
  shapesSource,
  sincosImagePositions,
  stackBlocks,
  SHAPES_ANSWERS,
} from '../src/train/index.js';
import * as tf from '@tensorflow/tfjs';

beforeAll(async () => {
  await initNodeBackend('wasm');
});

// A 1-block, hidden-16 model keeps these runs to a second or two.
const mini = resolveConfig('tiny', { hidden: 16, numHeads: 2, mlpDim: 32, numLayers: 1 });

describe('pretrainBase with a generated source', () => {
  it('is seeded, lowers the loss, trains only the question words, and leaks no tensors', async () => {
    const run = async () => {
      const m = createModel(mini, { seed: 3, answers: SHAPES_ANSWERS });
      const before = m.getParams(['text_embed/word', 'block0/q_kernel']);
      const losses: number[] = [];
      await pretrainBase(m, shapesSource(5, { adaptiveTypes: false }), {
        steps: 40,
        batchSize: 16,
        lr: 2e-2,
        seed: 5,
        onProgress: (p) => void losses.push(p.loss),
      });
      const after = m.getParams(['text_embed/word', 'block0/q_kernel', 'head/kernel']);
      m.dispose();
      return { before, after, losses };
    };
    const n0 = tf.memory().numTensors;
    const a = await run();
    expect(tf.memory().numTensors).toBe(n0);
    const b = await run();
    expect(a.after['block0/q_kernel'].data).toEqual(b.after['block0/q_kernel'].data);
    const mean = (xs: number[]) => xs.reduce((s, x) => s + x, 0) / xs.length;
    expect(mean(a.losses.slice(-10))).toBeLessThan(mean(a.losses.slice(0, 5)) - 0.05);
    // Word rows: "shape" (used by the task) moved; "hospital" (never asked) did not.
    const H = mini.hidden;
    const row = (d: Float32Array, id: number) => Array.from(d.subarray(id * H, (id + 1) * H));
    const changed = (id: number) =>
      row(a.before['text_embed/word'].data, id).some(
        (v, i) => v !== row(a.after['text_embed/word'].data, id)[i],
      );
    expect(changed(4338)).toBe(true); // "shape"
    expect(changed(2902)).toBe(false); // "hospital"
  }, 60_000);

  it('refuses a batch question outside the source vocabulary, naming the token', async () => {
    const m = createModel(mini, { seed: 1, answers: SHAPES_ANSWERS });
    const src = shapesSource(1);
    const bad = {
      questions: ['what shape is shown?'],
      batch: (n: number, step: number, steps: number) =>
        src.batch(n, step, steps).map((s) => ({ ...s, question: 'what hospital is this?' })),
    };
    await expect(pretrainBase(m, bad, { steps: 1, batchSize: 4, seed: 1 })).rejects.toThrow(
      /token id \d+ .* not in the source's question list/,
    );
    m.dispose();
  });

  it('adaptive type mix: a type answered right is asked less, one answered wrong more', () => {
    const src = shapesSource(4);
    const share = (type: string) =>
      src.batch(2000, 0, 10).filter((s) => s.questionType === type).length / 2000;
    const before = share('colour');
    for (let k = 0; k < 20; k++) {
      const b = src.batch(64, 0, 10);
      src.observe!(
        b,
        b.map((s) => s.questionType === 'colour'),
      );
    }
    expect(src.typeAccuracy!().colour).toBeGreaterThan(0.5);
    expect(src.typeAccuracy!().shape).toBe(0);
    expect(share('colour')).toBeLessThan(before * 0.75);
    expect(share('shape')).toBeGreaterThan(1 / 8);
  });

  it('stepping-stone types: asked only with a binding weight, which leaves the rest as it was', () => {
    const types = (xs: { questionType: string }[]) => xs.map((x) => x.questionType);
    const off = shapesSource(4, { adaptiveTypes: false }).batch(200, 3, 10);
    expect(types(off)).not.toContain('find');
    // Weight 0 draws exactly the samples of a source without the option.
    const zero = shapesSource(4, { adaptiveTypes: false, bindingWeight: 0 }).batch(200, 3, 10);
    expect(zero.map((x) => x.question)).toEqual(off.map((x) => x.question));
    const on = types(shapesSource(4, { adaptiveTypes: false, bindingWeight: 1 }).batch(400, 3, 10));
    for (const t of ['find', 'attribute']) {
      expect(on.filter((x) => x === t).length / on.length, t).toBeGreaterThan(0.05);
      expect(on.filter((x) => x === t).length / on.length, t).toBeLessThan(0.16);
    }
  });

  it('curriculum: difficulty ramps from clean to the held-out setting', () => {
    const src = shapesSource(2, { curriculumFraction: 0.5 });
    const flat = (s: { image: Uint8Array }[]) =>
      s.filter((x) => x.image[0] === x.image[1] && x.image[1] === x.image[2]).length;
    // Step 0 (difficulty 0): noise-free backgrounds; the last step: noisy ones.
    const first = src.batch(64, 0, 100);
    const last = src.batch(64, 99, 100);
    expect(flat(first)).toBeGreaterThan(flat(last));
  });
});

describe('deep supervision and the describe objective', () => {
  const two = resolveConfig(mini, { numLayers: 2 });

  it('forwardPerBlock: its last logits are model.apply, its first a 1-block model', () => {
    const m = createModel(two, { seed: 4, answers: SHAPES_ANSWERS });
    const one = createModel({ ...two, numLayers: 1 }, { seed: 4, answers: SHAPES_ANSWERS });
    const samples = shapesSource(3).batch(6, 0, 1);
    const b = encodeBatch(samples, { config: m.config, answers: m.answers });
    const [per, last, first] = tf.tidy(() => {
      const out = forwardPerBlock(m, {}, b);
      return [out.logits[1], m.apply({}, b), one.apply({}, b)];
    });
    // Block 0 and the head have the same names, so the same seeded weights, in both models.
    const out = tf.tidy(() => forwardPerBlock(m, {}, b).logits[0]);
    const close = (x: tf.Tensor, y: tf.Tensor) =>
      Math.max(...Array.from(x.sub(y).abs().dataSync()));
    expect(close(per, last)).toBeLessThan(1e-5);
    expect(close(out, first)).toBeLessThan(1e-5);
    tf.dispose([per, last, first, out]);
    disposeBatch(b);
    m.dispose();
    one.dispose();
  });

  it('is seeded, lowers the loss, leaks no tensors, and each option changes the result', async () => {
    const run = async (opts: {
      deepSupervision?: number;
      describe?: { weight: number; fraction: number; from?: 'pooled' | 'image-mean' };
      grounding?: { weight: number };
    }) => {
      const m = createModel(two, { seed: 3, answers: SHAPES_ANSWERS });
      const losses: number[] = [];
      await pretrainBase(m, shapesSource(5, { adaptiveTypes: false }), {
        steps: 30,
        batchSize: 16,
        lr: 2e-2,
        seed: 5,
        ...opts,
        onProgress: (p) => void losses.push(p.loss),
      });
      const w = m.getParams(['block0/q_kernel'])['block0/q_kernel'].data;
      m.dispose();
      return { w, losses };
    };
    const n0 = tf.memory().numTensors;
    const both = {
      deepSupervision: 1,
      describe: { weight: 1, fraction: 0.25 },
      grounding: { weight: 1 },
    };
    const a = await run(both);
    expect(tf.memory().numTensors).toBe(n0);
    const b = await run(both);
    expect(a.w).toEqual(b.w);
    const mean = (xs: number[]) => xs.reduce((s, x) => s + x, 0) / xs.length;
    expect(mean(a.losses.slice(-10))).toBeLessThan(mean(a.losses.slice(0, 5)) - 0.05);
    const plain = await run({});
    const deepOnly = await run({ deepSupervision: 1 });
    const describeOnly = await run({ describe: { weight: 1, fraction: 0.25 } });
    const groundingOnly = await run({ grounding: { weight: 1 } });
    const describeImage = await run({
      describe: { weight: 1, fraction: 0.25, from: 'image-mean' },
    });
    const describePooled = await run({ describe: { weight: 1, fraction: 0.25, from: 'pooled' } });
    expect(deepOnly.w).not.toEqual(plain.w);
    expect(describeOnly.w).not.toEqual(plain.w);
    expect(describePooled.w).toEqual(describeOnly.w); // 'pooled' is the default
    expect(describeImage.w).not.toEqual(describeOnly.w);
    expect(describeImage.w).not.toEqual(plain.w);
    expect(groundingOnly.w).not.toEqual(plain.w);
    expect(tf.memory().numTensors).toBe(n0);
  }, 120_000);

  it('runs both objectives on a fixed sample list too, leaking no tensors', async () => {
    const m = createModel(two, { seed: 2, answers: SHAPES_ANSWERS });
    const list = shapesSource(6).batch(24, 0, 1);
    const n0 = tf.memory().numTensors;
    const losses: number[] = [];
    await pretrainBase(m, list, {
      steps: 4,
      batchSize: 8,
      seed: 2,
      deepSupervision: 0.5,
      describe: { weight: 1, fraction: 0.5 },
      grounding: { weight: 0.5 },
      onProgress: (p) => void losses.push(p.loss),
    });
    expect(tf.memory().numTensors).toBe(n0);
    expect(losses.every(Number.isFinite)).toBe(true);
    m.dispose();
  });

  it('names bad options', async () => {
    const m = createModel(two, { seed: 1, answers: SHAPES_ANSWERS });
    const src = shapesSource(1);
    await expect(pretrainBase(m, src, { steps: 1, seed: 1, deepSupervision: -1 })).rejects.toThrow(
      /deepSupervision must be >= 0/,
    );
    await expect(
      pretrainBase(m, src, { steps: 1, seed: 1, describe: { weight: 1, fraction: 0 } }),
    ).rejects.toThrow(/describe.fraction must be in/);
    await expect(
      pretrainBase(m, src, { steps: 1, seed: 1, describe: { weight: 0, fraction: 0.5 } }),
    ).rejects.toThrow(/describe.weight must be > 0/);
    await expect(
      pretrainBase(m, src, {
        steps: 1,
        seed: 1,
        describe: { weight: 1, fraction: 0.5, from: 'cls' as 'pooled' },
      }),
    ).rejects.toThrow(/describe.from must be pooled or image-mean/);
    await expect(
      pretrainBase(m, src, { steps: 1, seed: 1, grounding: { weight: -1 } }),
    ).rejects.toThrow(/grounding.weight must be > 0/);
    expect(() => shapesSource(1, { bindingWeight: -1 })).toThrow(/bindingWeight must be >= 0/);
    m.dispose();
  });
});

describe('schedule, positions and stacking', () => {
  it('lr: linear warm-up to the peak, cosine down to 2 %', () => {
    expect(pretrainLr(1, 0, 100, 0.1)).toBeCloseTo(0.1, 10);
    expect(pretrainLr(1, 9, 100, 0.1)).toBeCloseTo(1, 10);
    expect(pretrainLr(1, 10, 100, 0.1)).toBeCloseTo(1, 10);
    expect(pretrainLr(1, 55, 100, 0.1)).toBeCloseTo(0.5, 10);
    expect(pretrainLr(1, 99, 100, 0.1)).toBe(0.02);
  });

  it('sin-cos image positions: CLS row zero, bounded, nearer patches more alike', () => {
    const H = 64;
    const p = sincosImagePositions(4, H, 0.3);
    expect(p.length).toBe(17 * H);
    expect(Array.from(p.subarray(0, H)).every((v) => v === 0)).toBe(true);
    expect(Math.max(...p.map(Math.abs))).toBeLessThanOrEqual(0.3 + 1e-6);
    const row = (r: number, c: number) => p.subarray((1 + r * 4 + c) * H, (2 + r * 4 + c) * H);
    const dist = (u: Float32Array, v: Float32Array) => Math.hypot(...u.map((x, i) => x - v[i]));
    expect(dist(row(0, 0), row(0, 1))).toBeLessThan(dist(row(0, 0), row(0, 3)));
    expect(dist(row(0, 0), row(1, 0))).toBeLessThan(dist(row(0, 0), row(3, 0)));
    expect(() => sincosImagePositions(4, 66, 1)).toThrow(/multiple of 4/);
    // The 'linear' variant (first committed base): distinct rows, CLS row zero.
    const lin = sincosImagePositions(4, H, 0.3, 'linear');
    const lrow = (i: number) => Array.from(lin.subarray(i * H, (i + 1) * H));
    expect(lrow(0).every((v) => v === 0)).toBe(true);
    expect(new Set(Array.from({ length: 16 }, (_, i) => lrow(i + 1).join(','))).size).toBe(16);
  });

  it('stackBlocks copies block floor(j * L / L2) and the rest, keeping fresh adapters', () => {
    const shallow = createModel(mini, { seed: 1, answers: SHAPES_ANSWERS });
    const deepCfg = { ...mini, numLayers: 3 };
    const deep = stackBlocks(shallow, deepCfg, 2);
    const s = shallow.getParams();
    const d = deep.getParams();
    for (const j of [0, 1, 2])
      expect(d[`block${j}/mlp1_kernel`].data).toEqual(s['block0/mlp1_kernel'].data);
    expect(d['pooler/kernel'].data).toEqual(s['pooler/kernel'].data);
    expect(d['head/kernel'].data).toEqual(s['head/kernel'].data);
    expect(deep.answers).toEqual(SHAPES_ANSWERS);
    expect(Array.from(d['block2.adapter/up_kernel'].data).every((v) => v === 0)).toBe(true);
    expect(() => stackBlocks(shallow, { ...mini, hidden: 32, numLayers: 3 }, 1)).toThrow(
      /hidden differs/,
    );
    const three = createModel(deepCfg, { seed: 1, answers: SHAPES_ANSWERS });
    expect(() => stackBlocks(three, mini, 1)).toThrow(/fewer than the shallow 3/);
    three.dispose();
    shallow.dispose();
    deep.dispose();
  });

  it('the small preset is tiny at 12 blocks', () => {
    expect(PRESETS.small).toEqual({ ...PRESETS.tiny, name: 'small', numLayers: 12 });
  });
});
