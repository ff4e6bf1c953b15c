// A small checkpoint in Hugging Face ViLT naming (transformers ViltForQuestionAnswering: Linear
// weights [out, in], the patch projection a Conv2d [H, 3, P, P]), for the importer's tests
// (core model-hf.test.ts, coordinator import-vilt.test.ts). Seeded Gaussian values * 0.1.
import type { WriteTensor } from '@focus-fl/core/model';
import { gaussian, mulberry32 } from '@focus-fl/core/random';

export interface HfViltFixture {
  hidden: number;
  mlp: number;
  patch: number;
  imageSize: number;
  vocab: number;
  layers: number;
  /** Rows of the text position table (the imported maxTextLen). */
  textPositions: number;
  seed: number;
  /** Leave this tensor out (missing-tensor errors). */
  drop?: string;
  /** Add the `position_ids` buffer some exports carry (I32; the importer ignores it). */
  positionIds?: boolean;
  /** Add `classifier.0.bias` beside `classifier.0.weight` (both ignored: a fresh head). */
  classifierBias?: boolean;
}

export function hfViltCheckpoint(o: HfViltFixture): Record<string, WriteTensor> {
  const { hidden: H, mlp: MLP, patch: P } = o;
  const rand = mulberry32(o.seed);
  const t: Record<string, WriteTensor> = {};
  const add = (name: string, shape: number[]) => {
    if (name === o.drop) return;
    const n = shape.reduce((a, b) => a * b, 1);
    t[name] = {
      dtype: 'F32',
      shape,
      data: Float32Array.from({ length: n }, () => gaussian(rand) * 0.1),
    };
  };
  const te = 'vilt.embeddings.text_embeddings';
  add(`${te}.word_embeddings.weight`, [o.vocab, H]);
  add(`${te}.position_embeddings.weight`, [o.textPositions, H]);
  add(`${te}.token_type_embeddings.weight`, [2, H]);
  add(`${te}.LayerNorm.weight`, [H]);
  add(`${te}.LayerNorm.bias`, [H]);
  if (o.positionIds)
    t[`${te}.position_ids`] = {
      dtype: 'I32',
      shape: [1, o.textPositions],
      data: Int32Array.from({ length: o.textPositions }, (_, i) => i),
    };
  add('vilt.embeddings.patch_embeddings.projection.weight', [H, 3, P, P]);
  add('vilt.embeddings.patch_embeddings.projection.bias', [H]);
  add('vilt.embeddings.cls_token', [1, 1, H]);
  add('vilt.embeddings.position_embeddings', [1, (o.imageSize / P) ** 2 + 1, H]);
  add('vilt.embeddings.token_type_embeddings.weight', [2, H]);
  for (let l = 0; l < o.layers; l++) {
    const p = `vilt.encoder.layer.${l}`;
    for (const n of ['query', 'key', 'value']) {
      add(`${p}.attention.attention.${n}.weight`, [H, H]);
      add(`${p}.attention.attention.${n}.bias`, [H]);
    }
    add(`${p}.attention.output.dense.weight`, [H, H]);
    add(`${p}.attention.output.dense.bias`, [H]);
    add(`${p}.intermediate.dense.weight`, [MLP, H]);
    add(`${p}.intermediate.dense.bias`, [MLP]);
    add(`${p}.output.dense.weight`, [H, MLP]);
    add(`${p}.output.dense.bias`, [H]);
    for (const n of ['layernorm_before', 'layernorm_after']) {
      add(`${p}.${n}.weight`, [H]);
      add(`${p}.${n}.bias`, [H]);
    }
  }
  add('vilt.layernorm.weight', [H]);
  add('vilt.layernorm.bias', [H]);
  add('vilt.pooler.dense.weight', [H, H]);
  add('vilt.pooler.dense.bias', [H]);
  add('classifier.0.weight', [2 * H, H]);
  if (o.classifierBias) add('classifier.0.bias', [2 * H]);
  return t;
}
