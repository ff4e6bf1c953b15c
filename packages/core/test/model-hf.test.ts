import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { embed } from '../src/model/forward.js';
import { importHfVilt, writeSafetensors, type WriteTensor } from '../src/model/index.js';
import { initNodeBackend } from '../src/node/index.js';
import { hfViltCheckpoint } from '@focus-fl/testkit/hf-vilt';
import { mulberry32 } from '../src/random.js';

beforeAll(async () => {
  await initNodeBackend('cpu');
});

// A ViLT checkpoint in Hugging Face naming (transformers ViltForQuestionAnswering), shrunk.
const H = 16;
const MLP = 32;
const P = 8;
const S = 16;
const V = 60;
const L = 2;
const overrides = {
  hidden: H,
  numHeads: 2,
  numLayers: L,
  mlpDim: MLP,
  patchSize: P,
  imageSize: S,
  vocabSize: V,
  maxTextLen: 8,
};

function hfCheckpoint(drop?: string): Record<string, WriteTensor> {
  const geometry = { hidden: H, mlp: MLP, patch: P, imageSize: S, vocab: V, layers: L };
  return hfViltCheckpoint({
    ...geometry,
    textPositions: 10,
    seed: 11,
    drop,
    positionIds: true,
    classifierBias: true,
  });
}

describe('HF ViLT importer', () => {
  it('maps HF names onto vilt-b32 names, transposing Linear weights', () => {
    const hf = hfCheckpoint();
    const { model, ignored } = importHfVilt(writeSafetensors(hf), {
      configOverrides: overrides,
      answers: ['yes', 'no'],
      seed: 1,
    });
    expect(model.config.name).toBe('vilt-b32');
    expect(model.config.layerNormEps).toBe(1e-12);
    expect(ignored.sort()).toEqual([
      'classifier.0.bias',
      'classifier.0.weight',
      'vilt.embeddings.text_embeddings.position_ids',
    ]);
    const hq = hf['vilt.encoder.layer.1.attention.attention.query.weight'].data;
    const q = model.getParams(['block1/q_kernel'])['block1/q_kernel'];
    expect(q.shape).toEqual([H, H]);
    for (let i = 0; i < H; i++)
      for (let o = 0; o < H; o++) expect(q.data[i * H + o]).toBe(hq[o * H + i]);
    const m1 = model.getParams(['block0/mlp1_kernel'])['block0/mlp1_kernel'];
    expect(m1.shape).toEqual([H, MLP]);
    expect(m1.data[3 * MLP + 7]).toBe(
      hf['vilt.encoder.layer.0.intermediate.dense.weight'].data[7 * H + 3],
    );
    // Token type 0 folded into the (truncated) text position table.
    const pos = model.getParams(['text_embed/position'])['text_embed/position'];
    const hp = hf['vilt.embeddings.text_embeddings.position_embeddings.weight'].data;
    const tt = hf['vilt.embeddings.text_embeddings.token_type_embeddings.weight'].data;
    expect(pos.shape).toEqual([8, H]);
    expect(pos.data[5 * H + 2]).toBeCloseTo(hp[5 * H + 2] + tt[2], 6);
    expect(model.getParams(['final_ln/gamma'])['final_ln/gamma'].data).toEqual(
      hf['vilt.layernorm.weight'].data,
    );
  });

  it('patch embedding equals the HF Conv2d (checked with tf.conv2d)', () => {
    const hf = hfCheckpoint();
    const { model } = importHfVilt(writeSafetensors(hf), {
      configOverrides: overrides,
      answers: ['yes', 'no'],
      seed: 1,
    });
    const rand = mulberry32(5);
    const img = tf.tensor4d(
      Float32Array.from({ length: S * S * 3 }, () => rand() * 2 - 1),
      [1, S, S, 3],
    );
    const batch = {
      images: img,
      tokens: tf.zeros([1, 8], 'int32') as tf.Tensor2D,
      mask: tf.ones([1, 8]) as tf.Tensor2D,
      labels: tf.zeros([1], 'int32') as tf.Tensor1D,
    };
    const c = model.config;
    const ours = tf.tidy(() => {
      const x = embed(c, (n) => model.tensor(n), batch).x;
      const N = (S / P) ** 2;
      // Remove position and modality-type terms from the patch rows.
      return x
        .slice([0, 8 + 1, 0], [1, N, H])
        .sub(model.tensor('image_embed/position').slice([1, 0], [N, H]))
        .sub(model.tensor('type_embed/table').slice([1, 0], [1, H]));
    });
    const ref = tf.tidy(() => {
      // PyTorch OIHW -> tf HWIO.
      const w = tf
        .tensor4d(hf['vilt.embeddings.patch_embeddings.projection.weight'].data as Float32Array, [
          H,
          3,
          P,
          P,
        ])
        .transpose([2, 3, 1, 0]) as tf.Tensor4D;
      const y = tf
        .conv2d(img, w, P, 'valid')
        .add(
          tf.tensor1d(hf['vilt.embeddings.patch_embeddings.projection.bias'].data as Float32Array),
        );
      return y.reshape([1, (S / P) ** 2, H]);
    });
    expect(tf.max(tf.abs(tf.sub(ours, ref))).dataSync()[0]).toBeLessThan(1e-5);
    const logits = tf.tidy(() => model.apply({}, batch));
    expect(logits.shape).toEqual([1, 2]);
  });

  it('names a missing or mis-shaped tensor', () => {
    const missing = hfCheckpoint('vilt.encoder.layer.1.attention.attention.key.weight');
    expect(() => importHfVilt(writeSafetensors(missing), { configOverrides: overrides })).toThrow(
      /missing tensor "vilt.encoder.layer.1.attention.attention.key.weight"/,
    );
    const hf = hfCheckpoint();
    hf['vilt.pooler.dense.bias'] = { dtype: 'F32', shape: [H + 1], data: new Float32Array(H + 1) };
    expect(() => importHfVilt(writeSafetensors(hf), { configOverrides: overrides })).toThrow(
      /"vilt.pooler.dense.bias" has shape \[17\], expected \[16\]/,
    );
  });
});
