// Importer for Hugging Face ViLT checkpoints (transformers' ViltModel, e.g. dandelin/vilt-b32-
// mlm) onto the `vilt-b32` preset. PyTorch Linear weights are [out, in]: transposed to our
// [in, out] kernels; the patch Conv2d [H, 3, P, P] becomes a [P*P*3, H] kernel in our patch
// flattening order (row, col, channel). The text token-type row 0 is folded into the text
// position table (both are added before the embedding LayerNorm, so this is exact). The VQA
// classifier is not imported: a fresh head over the federation's answer vocabulary is used.
import type { NamedArrays } from '../tensors/named.js';
import { resolveConfig, type ModelConfig } from './config.js';
import { initParam, paramSpecs } from './params.js';
import { quantizeInt8, type QuantizedInt8 } from './quantize.js';
import { readSafetensors, type SafeFile } from './safetensors.js';
import { VqaModel } from './vqa-model.js';

export interface HfImportOptions {
  /** Geometry overrides on top of `vilt-b32` (tests use small dims). */
  configOverrides?: Partial<ModelConfig>;
  /** Answer classes of the fresh head. */
  answers?: readonly string[];
  /** Seed for adapters and the fresh head. */
  seed?: number;
  /** 'fp32' (default) or 'int8': frozen 2-D weights kept int8 in memory (quantizeInt8). */
  weights?: 'fp32' | 'int8';
}

export interface HfImportResult {
  model: VqaModel;
  /** HF keys that were not used (classifier, pooler-free heads, buffers, MLM heads...). */
  ignored: string[];
}

const P = 'vilt.';

function transpose(data: Float32Array, rows: number, cols: number): Float32Array {
  const out = new Float32Array(rows * cols);
  for (let r = 0; r < rows; r++)
    for (let c = 0; c < cols; c++) out[c * rows + r] = data[r * cols + c];
  return out;
}

export function importHfVilt(
  input: Uint8Array | SafeFile,
  opts: HfImportOptions = {},
): HfImportResult {
  const file = input instanceof Uint8Array ? readSafetensors(input) : input;
  const answers =
    opts.answers ??
    Array.from(
      { length: opts.configOverrides?.numAnswers ?? resolveConfig('vilt-b32').numAnswers },
      (_, i) => `class${i}`,
    );
  const c = resolveConfig('vilt-b32', {
    ...opts.configOverrides,
    numAnswers: answers.length,
    peft: 'adapter',
  });
  const used = new Set<string>();
  const get = (key: string, shape: number[]): Float32Array => {
    const t = file.tensors[key];
    if (!t) throw new Error(`HF ViLT import: missing tensor "${key}"`);
    if (!(t.data instanceof Float32Array))
      throw new Error(`HF ViLT import: "${key}" has dtype ${t.dtype}, expected a float type`);
    if (t.shape.length !== shape.length || t.shape.some((d, i) => d !== shape[i])) {
      throw new Error(
        `HF ViLT import: "${key}" has shape [${t.shape}], expected [${shape}] for this config`,
      );
    }
    used.add(key);
    return t.data;
  };
  const H = c.hidden;
  const v: NamedArrays = {};
  const put = (name: string, shape: number[], data: Float32Array) => (v[name] = { shape, data });
  const linear = (
    hfPrefix: string,
    kernel: string,
    bias: string,
    fanIn: number,
    fanOut: number,
  ) => {
    put(
      kernel,
      [fanIn, fanOut],
      transpose(get(`${hfPrefix}.weight`, [fanOut, fanIn]), fanOut, fanIn),
    );
    put(bias, [fanOut], get(`${hfPrefix}.bias`, [fanOut]));
  };

  const te = `${P}embeddings.text_embeddings`;
  put('text_embed/word', [c.vocabSize, H], get(`${te}.word_embeddings.weight`, [c.vocabSize, H]));
  const posT = file.tensors[`${te}.position_embeddings.weight`];
  if (!posT) throw new Error(`HF ViLT import: missing tensor "${te}.position_embeddings.weight"`);
  if (posT.shape[0] < c.maxTextLen)
    throw new Error(
      `HF ViLT import: text position table has ${posT.shape[0]} rows < maxTextLen ${c.maxTextLen}`,
    );
  const pos = get(`${te}.position_embeddings.weight`, [posT.shape[0], H]).slice(
    0,
    c.maxTextLen * H,
  );
  const tt = get(`${te}.token_type_embeddings.weight`, [
    file.tensors[`${te}.token_type_embeddings.weight`]?.shape[0] ?? 2,
    H,
  ]);
  for (let i = 0; i < pos.length; i++) pos[i] += tt[i % H];
  put('text_embed/position', [c.maxTextLen, H], pos);
  put('text_embed/ln_gamma', [H], get(`${te}.LayerNorm.weight`, [H]));
  put('text_embed/ln_beta', [H], get(`${te}.LayerNorm.bias`, [H]));

  const ps = c.patchSize;
  const conv = get(`${P}embeddings.patch_embeddings.projection.weight`, [H, 3, ps, ps]);
  const pk = new Float32Array(ps * ps * 3 * H);
  for (let o = 0; o < H; o++)
    for (let ch = 0; ch < 3; ch++)
      for (let i = 0; i < ps; i++)
        for (let j = 0; j < ps; j++)
          pk[((i * ps + j) * 3 + ch) * H + o] = conv[((o * 3 + ch) * ps + i) * ps + j];
  put('patch_embed/kernel', [ps * ps * 3, H], pk);
  put('patch_embed/bias', [H], get(`${P}embeddings.patch_embeddings.projection.bias`, [H]));
  put('image_embed/cls', [1, H], get(`${P}embeddings.cls_token`, [1, 1, H]));
  const np = (c.imageSize / ps) ** 2;
  put(
    'image_embed/position',
    [np + 1, H],
    get(`${P}embeddings.position_embeddings`, [1, np + 1, H]),
  );
  put('type_embed/table', [2, H], get(`${P}embeddings.token_type_embeddings.weight`, [2, H]));

  for (let l = 0; l < c.numLayers; l++) {
    const hl = `${P}encoder.layer.${l}`;
    const b = `block${l}`;
    put(`${b}/ln1_gamma`, [H], get(`${hl}.layernorm_before.weight`, [H]));
    put(`${b}/ln1_beta`, [H], get(`${hl}.layernorm_before.bias`, [H]));
    linear(`${hl}.attention.attention.query`, `${b}/q_kernel`, `${b}/q_bias`, H, H);
    linear(`${hl}.attention.attention.key`, `${b}/k_kernel`, `${b}/k_bias`, H, H);
    linear(`${hl}.attention.attention.value`, `${b}/v_kernel`, `${b}/v_bias`, H, H);
    linear(`${hl}.attention.output.dense`, `${b}/o_kernel`, `${b}/o_bias`, H, H);
    put(`${b}/ln2_gamma`, [H], get(`${hl}.layernorm_after.weight`, [H]));
    put(`${b}/ln2_beta`, [H], get(`${hl}.layernorm_after.bias`, [H]));
    linear(`${hl}.intermediate.dense`, `${b}/mlp1_kernel`, `${b}/mlp1_bias`, H, c.mlpDim);
    linear(`${hl}.output.dense`, `${b}/mlp2_kernel`, `${b}/mlp2_bias`, c.mlpDim, H);
  }
  put('final_ln/gamma', [H], get(`${P}layernorm.weight`, [H]));
  put('final_ln/beta', [H], get(`${P}layernorm.bias`, [H]));
  linear(`${P}pooler.dense`, 'pooler/kernel', 'pooler/bias', H, H);

  const int8: Record<string, QuantizedInt8> = {};
  for (const s of paramSpecs(c)) {
    if (!s.frozen) v[s.name] = { shape: [...s.shape], data: initParam(s, opts.seed ?? 0) };
    else if (opts.weights === 'int8' && s.quantAxis !== undefined) {
      int8[s.name] = quantizeInt8(v[s.name].data, s.shape, s.quantAxis);
      delete v[s.name];
    }
  }
  const ignored = Object.keys(file.tensors).filter((k) => !used.has(k));
  return { model: new VqaModel(c, answers, v, int8), ignored };
}

/**
 * The model geometry of a Hugging Face ViLT checkpoint, read from its tensor shapes: hidden and
 * vocabulary from the word table, blocks from the encoder layer indices, MLP width, patch and
 * image size from the patch projection and the image position table, and the question length
 * from the text position table (at most 40, ViLT's). The number of attention heads is not in
 * the weights: `numHeads` (default hidden / 64, BERT's and ViLT-B's head size).
 */
export function hfViltGeometry(
  input: Uint8Array | SafeFile,
  opts: { numHeads?: number } = {},
): Partial<ModelConfig> {
  const file = input instanceof Uint8Array ? readSafetensors(input) : input;
  const shape = (key: string): number[] => {
    const t = file.tensors[key];
    if (!t) throw new Error(`HF ViLT import: missing tensor "${key}" (not a ViLT checkpoint?)`);
    return t.shape;
  };
  const te = `${P}embeddings.text_embeddings`;
  const [vocabSize, hidden] = shape(`${te}.word_embeddings.weight`);
  const layers = Object.keys(file.tensors)
    .map((k) => /^vilt\.encoder\.layer\.(\d+)\./.exec(k)?.[1])
    .filter((x): x is string => x !== undefined)
    .map(Number);
  if (layers.length === 0) throw new Error('HF ViLT import: no "vilt.encoder.layer.N" tensors');
  const [mlpDim] = shape(`${P}encoder.layer.0.intermediate.dense.weight`);
  const conv = shape(`${P}embeddings.patch_embeddings.projection.weight`);
  const patchSize = conv[2];
  const grid = Math.round(Math.sqrt(shape(`${P}embeddings.position_embeddings`)[1] - 1));
  const numHeads = opts.numHeads ?? Math.max(1, Math.round(hidden / 64));
  return {
    hidden,
    vocabSize,
    numLayers: Math.max(...layers) + 1,
    mlpDim,
    patchSize,
    imageSize: grid * patchSize,
    maxTextLen: Math.min(40, shape(`${te}.position_embeddings.weight`)[0]),
    numHeads,
  };
}
