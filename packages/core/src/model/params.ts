// Parameter layout of the VQA model: every tensor has a stable name `<layer>/<param>`
// (tensors/named.ts). Trainable units are `block{i}.adapter` (Pfeiffer, default),
// `block{i}.lora`, or a delta family (`block{i}.layernorm`, `.bias`, `.full`: see
// deltaTargetName); `head` is always trained; everything else is the frozen (int8) base.
import { gaussian, mulberry32 } from '../random.js';
import type { NamedArrays } from '../tensors/named.js';
import { sizeOf } from '../tensors/named.js';
import { adapterDim, numPatches, type ModelConfig, type PeftKind } from './config.js';

export type InitKind = 'normal' | 'zeros' | 'ones';

export interface ParamSpec {
  name: string;
  shape: number[];
  init: InitKind;
  std: number;
  /** Part of the frozen base (quantized at rest) vs a trainable unit (adapter/LoRA/head). */
  frozen: boolean;
  /**
   * Channel axis for int8 quantization of 2-D frozen tensors: 1 (output column) for Linear
   * kernels [in, out], 0 (row) for embedding tables [rows, hidden]. Absent: kept fp32.
   */
  quantAxis?: 0 | 1;
}

export function blockName(i: number): string {
  return `block${i}`;
}

export function trainableLayerNames(c: ModelConfig): string[] {
  return Array.from({ length: c.numLayers }, (_, i) => `${blockName(i)}.${c.peft}`);
}

/**
 * The Table 2 PEFT families of the paper (Saha et al., CVPR 2025, Table 2) that train tensors of
 * the base itself: LayerNorm-only, bias-only (BitFit-style: the Linear layers' biases; the
 * LayerNorm betas belong to the LayerNorm family, so the two are disjoint) and full fine-tuning.
 * Their unit `block{i}.<kind>` holds one fp32 delta per covered base tensor, zero at init, and
 * the forward pass reads base + delta (VqaModel.lookup): the gradient with respect to the delta
 * is the gradient with respect to the weight, so training the delta is training an fp32 copy
 * of the (int8) base tensor, while the base stays frozen and int8 and only deltas travel.
 * The unit of the last block also covers the final LayerNorm and the pooler, which follow it.
 * The embeddings are not covered: they run outside the gradient tape (the frozen prefix), and
 * the word table's gradient needs a scatter the wasm backend lacks.
 */
export type DeltaPeftKind = 'layernorm' | 'bias' | 'full';

export function isDeltaPeft(kind: PeftKind): kind is DeltaPeftKind {
  return kind === 'layernorm' || kind === 'bias' || kind === 'full';
}

function coversTensor(kind: DeltaPeftKind, param: string): boolean {
  if (kind === 'full') return true;
  if (kind === 'layernorm') return /^ln\d*_(gamma|beta)$/.test(param) || /^final_ln_/.test(param);
  return param.endsWith('_bias');
}

/**
 * The trainable delta that the model's peft family adds to frozen base tensor `baseName`
 * (e.g. `block3/ln1_gamma` -> `block3.layernorm/ln1_gamma`, `pooler/kernel` ->
 * `block5.full/pooler_kernel`), or null when the family does not train it.
 */
export function deltaTargetName(c: ModelConfig, baseName: string): string | null {
  if (!isDeltaPeft(c.peft)) return null;
  const inBlock = /^block(\d+)\/(.+)$/.exec(baseName);
  let block: number;
  let param: string;
  if (inBlock) {
    block = Number(inBlock[1]);
    param = inBlock[2];
  } else if (/^(final_ln|pooler)\//.test(baseName)) {
    block = c.numLayers - 1;
    param = baseName.replace('/', '_');
  } else return null;
  if (!coversTensor(c.peft, param)) return null;
  return `${blockName(block)}.${c.peft}/${param}`;
}

/** For a delta family: frozen base tensor name -> its trainable delta (empty otherwise). */
export function deltaUnitTensors(c: ModelConfig): Map<string, string> {
  const out = new Map<string, string>();
  if (!isDeltaPeft(c.peft)) return out;
  for (const s of paramSpecs(c)) {
    if (!s.frozen) continue;
    const d = deltaTargetName(c, s.name);
    if (d) out.set(s.name, d);
  }
  return out;
}

export { HEAD_LAYER } from '../tensors/named.js';

export function headSpecs(c: ModelConfig): ParamSpec[] {
  // Small random init, not zero: with zero-initialised adapter up-projections a zero head
  // would zero every adapter gradient (d logits / d adapter goes through the head).
  return [
    {
      name: 'head/kernel',
      shape: [c.hidden, c.numAnswers],
      init: 'normal',
      std: 0.02,
      frozen: false,
    },
    { name: 'head/bias', shape: [c.numAnswers], init: 'zeros', std: 0, frozen: false },
  ];
}

/** Every parameter of the model, in a fixed order. */
export function paramSpecs(c: ModelConfig): ParamSpec[] {
  const H = c.hidden;
  const P = c.patchSize;
  const N = numPatches(c);
  const kstd = (fanIn: number) => 1 / Math.sqrt(fanIn);
  const out: ParamSpec[] = [];
  const frozen = (name: string, shape: number[], init: InitKind, std = 0, quantAxis?: 0 | 1) =>
    out.push({ name, shape, init, std, frozen: true, quantAxis });
  const train = (name: string, shape: number[], init: InitKind, std = 0) =>
    out.push({ name, shape, init, std, frozen: false });
  const linear = (layer: string, p: string, fanIn: number, fanOut: number) => {
    frozen(`${layer}/${p}_kernel`, [fanIn, fanOut], 'normal', kstd(fanIn), 1);
    frozen(`${layer}/${p}_bias`, [fanOut], 'zeros');
  };

  frozen('text_embed/word', [c.vocabSize, H], 'normal', 0.02, 0);
  frozen('text_embed/position', [c.maxTextLen, H], 'normal', 0.02, 0);
  frozen('text_embed/ln_gamma', [H], 'ones');
  frozen('text_embed/ln_beta', [H], 'zeros');
  frozen('patch_embed/kernel', [P * P * c.channels, H], 'normal', kstd(P * P * c.channels), 1);
  frozen('patch_embed/bias', [H], 'zeros');
  frozen('image_embed/cls', [1, H], 'normal', 0.02, 0);
  frozen('image_embed/position', [N + 1, H], 'normal', 0.02, 0);
  frozen('type_embed/table', [2, H], 'normal', 0.02, 0);
  const layers = trainableLayerNames(c);
  // Delta families: a zero-initialised fp32 delta per covered frozen tensor of `from..`.
  const deltasOf = (from: number) => {
    for (const s of out.slice(from)) {
      const d = s.frozen ? deltaTargetName(c, s.name) : null;
      if (d) train(d, s.shape, 'zeros');
    }
  };
  for (let i = 0; i < c.numLayers; i++) {
    const b = blockName(i);
    const blockStart = out.length;
    frozen(`${b}/ln1_gamma`, [H], 'ones');
    frozen(`${b}/ln1_beta`, [H], 'zeros');
    for (const p of ['q', 'k', 'v', 'o']) linear(b, p, H, H);
    frozen(`${b}/ln2_gamma`, [H], 'ones');
    frozen(`${b}/ln2_beta`, [H], 'zeros');
    linear(b, 'mlp1', H, c.mlpDim);
    linear(b, 'mlp2', c.mlpDim, H);
    const t = layers[i];
    if (c.peft === 'adapter') {
      // Pfeiffer bottleneck; zero up-projection makes the adapter the identity at init.
      const r = adapterDim(c);
      train(`${t}/down_kernel`, [H, r], 'normal', kstd(H));
      train(`${t}/down_bias`, [r], 'zeros');
      train(`${t}/up_kernel`, [r, H], 'zeros');
      train(`${t}/up_bias`, [H], 'zeros');
    } else if (c.peft === 'lora') {
      // LoRA (Hu et al. 2021) on query and value: W + (alpha/r) A B, B zero at init.
      const r = c.loraRank;
      for (const p of ['q', 'v']) {
        train(`${t}/${p}_a`, [H, r], 'normal', kstd(H));
        train(`${t}/${p}_b`, [r, H], 'zeros');
      }
    } else deltasOf(blockStart);
  }
  const topStart = out.length;
  frozen('final_ln/gamma', [H], 'ones');
  frozen('final_ln/beta', [H], 'zeros');
  frozen('pooler/kernel', [H, H], 'normal', kstd(H), 1);
  frozen('pooler/bias', [H], 'zeros');
  deltasOf(topStart);
  out.push(...headSpecs(c));
  return out;
}

/** FNV-1a: a per-name seed so that one tensor's init does not depend on the others. */
function hashName(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

export function initParam(spec: ParamSpec, seed: number): Float32Array {
  const data = new Float32Array(sizeOf(spec.shape));
  if (spec.init === 'ones') data.fill(1);
  else if (spec.init === 'normal') {
    const rand = mulberry32((seed ^ hashName(spec.name)) >>> 0);
    for (let i = 0; i < data.length; i++) data[i] = gaussian(rand) * spec.std;
  }
  return data;
}

export function initParams(specs: ParamSpec[], seed: number): NamedArrays {
  const out: NamedArrays = {};
  for (const s of specs) out[s.name] = { shape: [...s.shape], data: initParam(s, seed) };
  return out;
}
