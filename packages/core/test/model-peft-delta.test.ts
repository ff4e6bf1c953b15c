// The Table 2 PEFT families that train tensors of the base (LayerNorm-only, bias-only, full
// fine-tuning): which tensors each unit holds, that the model starts as the base, that the
// gradient of the loss with respect to a delta is the weight's (central finite differences),
// that training a family changes exactly its own tensors, and the bytes one update carries.
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { encodedSize, encodeUpdate } from '../src/federated/codecs.js';
import {
  createModel,
  deltaUnitTensors,
  disposeBatch,
  encodeBatch,
  loadModel,
  resolveConfig,
  saveModel,
  type ModelConfig,
  type PeftKind,
} from '../src/model/index.js';
import { initNodeBackend } from '../src/node/index.js';
import { trainLayers } from '../src/train/index.js';
import { mulberry32 } from '../src/random.js';
import { TOY_ANSWERS, toySamples } from './model-helpers.js';

beforeAll(async () => {
  await initNodeBackend('cpu');
});

const DELTA_KINDS = ['layernorm', 'bias', 'full'] as const;
const small = (peft: PeftKind): ModelConfig =>
  resolveConfig('tiny', { peft, numLayers: 2, hidden: 16, numHeads: 2, mlpDim: 24 });

/** Trainable parameters of all units of a family, counted from the geometry alone. */
function expectedUnitParams(kind: (typeof DELTA_KINDS)[number], c: ModelConfig): number {
  const H = c.hidden;
  const M = c.mlpDim;
  const L = c.numLayers;
  if (kind === 'layernorm') return L * 4 * H + 2 * H; // ln1, ln2 (gamma, beta) + final LN
  if (kind === 'bias') return L * (4 * H + M + H) + H; // q k v o, mlp1, mlp2 biases + pooler
  const block = 4 * (H * H + H) + (H * M + M) + (M * H + H) + 4 * H;
  return L * block + 2 * H + H * H + H; // + final LN + pooler
}

function loss(logits: tf.Tensor2D, labels: tf.Tensor1D): tf.Scalar {
  return tf.losses.softmaxCrossEntropy(tf.oneHot(labels, logits.shape[1]), logits) as tf.Scalar;
}

describe('delta PEFT families (layernorm, bias, full)', () => {
  it.each(DELTA_KINDS)('%s: units, covered tensors and the parameter count', (kind) => {
    const c = small(kind);
    const m = createModel(c, { seed: 3, answers: TOY_ANSWERS });
    expect(m.layerNames()).toEqual([`block0.${kind}`, `block1.${kind}`]);
    const map = deltaUnitTensors(m.config);
    for (const [base, delta] of map) {
      expect(m.spec(base).frozen).toBe(true);
      expect(m.spec(delta).frozen).toBe(false);
      expect(m.spec(delta).shape).toEqual(m.spec(base).shape);
      expect(m.getParams([delta])[delta].data.every((v) => v === 0)).toBe(true);
    }
    const bases = [...map.keys()];
    if (kind === 'layernorm')
      expect(bases.every((n) => /ln\d?_(gamma|beta)$|^final_ln\//.test(n))).toBe(true);
    if (kind === 'bias') expect(bases.every((n) => /_bias$|^pooler\/bias$/.test(n))).toBe(true);
    // The embeddings are never covered; the pooler and final LN belong to the last unit.
    expect(bases.some((n) => /embed/.test(n))).toBe(false);
    for (const [base, delta] of map)
      if (!base.startsWith('block')) expect(delta.startsWith(`block1.${kind}/`)).toBe(true);
    const { perLayer } = m.countParams();
    const units = m.layerNames().reduce((a, l) => a + perLayer[l], 0);
    expect(units).toBe(expectedUnitParams(kind, m.config));
    m.dispose();
  });

  it.each(DELTA_KINDS)('%s: starts as the base (logits equal to the adapter model)', (kind) => {
    const a = createModel(small('adapter'), { seed: 5, answers: TOY_ANSWERS });
    const d = createModel(small(kind), { seed: 5, answers: TOY_ANSWERS });
    const batch = encodeBatch(toySamples(4, 2), a);
    const [ya, yd] = tf.tidy(() => [a.apply({}, batch), d.apply({}, batch)]);
    // A zero-initialised adapter up-projection is the identity, a zero delta adds nothing.
    expect(Array.from(yd.dataSync())).toEqual(Array.from(ya.dataSync()));
    tf.dispose([ya, yd]);
    disposeBatch(batch);
    a.dispose();
    d.dispose();
  });

  it.each(DELTA_KINDS)(
    '%s: d loss / d delta matches central finite differences',
    (kind) => {
      const m = createModel(small(kind), { seed: 11, answers: TOY_ANSWERS });
      const batch = encodeBatch(toySamples(6, 4), m);
      const rand = mulberry32(17);
      // Evaluate at a random non-zero delta, so that the check is not only about the base.
      const deltas = [...deltaUnitTensors(m.config).values()];
      const point: Record<string, tf.Tensor> = {};
      for (const n of deltas) {
        const s = m.spec(n).shape;
        point[n] = tf.tensor(
          Float32Array.from({ length: s.reduce((x, y) => x * y, 1) }, () => 0.05 * (rand() - 0.5)),
          s,
        );
      }
      const f = (overrides: Record<string, tf.Tensor>) =>
        tf.tidy(() => loss(m.apply({ ...point, ...overrides }, batch), batch.labels).dataSync()[0]);
      // Three tensors of the family: one of block 0, one of the last unit, and a random one.
      const picks = [
        deltas[0],
        deltas[deltas.length - 1],
        deltas[Math.floor(rand() * deltas.length)],
      ];
      for (const name of picks) {
        const g = tf.tidy(() =>
          tf.grad((x: tf.Tensor) => loss(m.apply({ ...point, [name]: x }, batch), batch.labels))(
            point[name],
          ),
        );
        const gv = g.dataSync();
        g.dispose();
        const base = point[name].dataSync();
        // The largest-gradient coordinate and two random ones.
        let top = 0;
        for (let i = 1; i < gv.length; i++) if (Math.abs(gv[i]) > Math.abs(gv[top])) top = i;
        expect(Math.abs(gv[top])).toBeGreaterThan(1e-4);
        for (const i of [top, Math.floor(rand() * gv.length), Math.floor(rand() * gv.length)]) {
          const eps = 1e-2;
          const at = (v: number) => {
            const x = Float32Array.from(base);
            x[i] = v;
            const t = tf.tensor(x, point[name].shape);
            try {
              return f({ [name]: t });
            } finally {
              t.dispose();
            }
          };
          const fd = (at(base[i] + eps) - at(base[i] - eps)) / (2 * eps);
          expect(Math.abs(fd - gv[i]), `${name}[${i}] fd ${fd} grad ${gv[i]}`).toBeLessThan(
            2e-3 + 0.03 * Math.abs(gv[i]),
          );
        }
      }
      tf.dispose(Object.values(point));
      disposeBatch(batch);
      m.dispose();
    },
    60_000,
  );

  it.each(DELTA_KINDS)(
    '%s: training all units changes exactly the family and the head; the update carries them',
    async (kind) => {
      const m = createModel(small(kind), { seed: 2, answers: TOY_ANSWERS });
      const before = m.getParams();
      const res = await trainLayers(m, toySamples(12, 6), {
        layers: m.layerNames(),
        steps: 3,
        batchSize: 6,
        lr: 1e-2,
        seed: 1,
      });
      const after = m.getParams();
      const trainable = new Set(m.trainableParamNames(m.layerNames()));
      for (const name of Object.keys(before)) {
        const changed = before[name].data.some((v, i) => v !== after[name].data[i]);
        if (!trainable.has(name)) expect(changed, `${name} must stay as it was`).toBe(false);
      }
      // Every unit moved (some tensors, e.g. the key bias, have an exactly zero gradient).
      for (const l of m.layerNames()) {
        const moved = m
          .paramNames(l)
          .some((n) => before[n].data.some((v, i) => v !== after[n].data[i]));
        expect(moved, `${l} must move`).toBe(true);
      }
      expect(Object.keys(res.deltas).sort()).toEqual([...trainable].sort());
      // The uplink: every unit's delta + the head, 4 bytes a value, and nothing else.
      const head = TOY_ANSWERS.length * (m.config.hidden + 1);
      const values = Object.values(res.deltas).reduce((a, t) => a + t.data.length, 0);
      expect(values).toBe(expectedUnitParams(kind, m.config) + head);
      const bytes = encodeUpdate(res.deltas, 'fp32').byteLength;
      expect(bytes).toBe(encodedSize(res.deltas, 'fp32'));
      expect(bytes).toBeGreaterThanOrEqual(4 * values);
      expect(bytes).toBeLessThan(4 * values + 64 * Object.keys(res.deltas).length);
      m.dispose();
    },
    60_000,
  );

  it('a base-only checkpoint loads into each family with zero deltas; a family round-trips', () => {
    const a = createModel(small('adapter'), { seed: 9, answers: TOY_ANSWERS });
    const baseOnly = saveModel(a, { include: 'base', quantize: 'int8' });
    for (const kind of DELTA_KINDS) {
      const d = loadModel(baseOnly, { configOverrides: { peft: kind }, seed: 1 });
      expect(d.layerNames()[0]).toBe(`block0.${kind}`);
      const name = [...deltaUnitTensors(d.config).values()][0];
      expect(d.getParams([name])[name].data.every((v) => v === 0)).toBe(true);
      d.setParams({
        [name]: {
          shape: d.spec(name).shape,
          data: new Float32Array(d.spec(name).shape.reduce((x, y) => x * y, 1)).fill(0.25),
        },
      });
      const back = loadModel(saveModel(d));
      expect(back.config.peft).toBe(kind);
      expect(back.getParams([name])[name].data.every((v) => v === 0.25)).toBe(true);
      back.dispose();
      d.dispose();
    }
    a.dispose();
    expect(() => resolveConfig('tiny', { peft: 'prompt' as PeftKind })).toThrow(
      /peft must be one of 'adapter', 'lora', 'layernorm', 'bias', 'full', got prompt/,
    );
  });
});
