// Model configuration and presets. A ViLT-style single-stream transformer (Kim et al. 2021):
// [text tokens | image CLS | image patches] -> pre-LN blocks -> pooled first token -> answers.

/**
 * Trainable units (one per block, `block{i}.<kind>`): Pfeiffer adapters, LoRA on query/value,
 * or, for the paper's Table 2 PEFT families, the block's LayerNorm parameters, its Linear
 * biases, or all of its weights (full fine-tuning). The last three are fp32 deltas added to
 * the frozen base's tensors (params.ts, `deltaUnitTensors`).
 */
export const PEFT_KINDS = ['adapter', 'lora', 'layernorm', 'bias', 'full'] as const;
export type PeftKind = (typeof PEFT_KINDS)[number];

export interface ModelConfig {
  name: string;
  /** Square input side in pixels; samples of another size are resized. */
  imageSize: number;
  patchSize: number;
  /** Always 3: grey images are replicated to RGB (as ViLT expects RGB). */
  channels: 3;
  hidden: number;
  numLayers: number;
  numHeads: number;
  /** MLP inner width. */
  mlpDim: number;
  /** Question length in tokens, [CLS] and [SEP] included (ViLT: 40). */
  maxTextLen: number;
  vocabSize: number;
  /** Output classes of the answer head. */
  numAnswers: number;
  /** Trainable units: Pfeiffer adapters (default), LoRA on query/value, or a delta family. */
  peft: PeftKind;
  /** Pfeiffer bottleneck = hidden / adapterReduction (docs/method.md §3: 16 on ViLT-B). */
  adapterReduction: number;
  loraRank: number;
  loraAlpha: number;
  layerNormEps: number;
}

/**
 * `tiny`: MedMNIST-native 28 px, 7 px patches (16 patches), hidden 64, 6 blocks so that the
 * selection has several layers to choose from. Its adapter reduction is 4 (bottleneck 16),
 * not 16: with hidden 64 a reduction of 16 leaves a 4-unit bottleneck, too narrow to adapt the
 * 9 clients' answer spaces; 4 keeps the adapter small (2,128 params per block) but useful.
 */
const tiny: ModelConfig = {
  name: 'tiny',
  imageSize: 28,
  patchSize: 7,
  channels: 3,
  hidden: 64,
  numLayers: 6,
  numHeads: 4,
  mlpDim: 128,
  maxTextLen: 16,
  vocabSize: 30522,
  numAnswers: 32,
  peft: 'adapter',
  adapterReduction: 4,
  loraRank: 4,
  loraAlpha: 8,
  layerNormEps: 1e-6,
};

/**
 * `small`: the `tiny` geometry at ViLT-B's depth (12 blocks), so that budgets such as 4 of 12
 * adapters (the paper's Table 2) can be run. Hidden stays 64: a training step of 12 blocks at
 * hidden 64 costs about 1.5x one of `tiny` on the wasm backend, at hidden 96 about 3x
 * (measured when the preset was chosen; the pretraining's CPU seconds per step are in
 * packages/core/assets/small-base.json), and the base is pretrained by stacking the trained
 * `tiny` blocks (each used twice) before training all 12, which needs equal widths.
 */
const small: ModelConfig = { ...tiny, name: 'small', numLayers: 12 };

/** `vilt-b32`: dandelin/vilt-b32-* geometry (hidden 768, 12 blocks, 12 heads, patch 32, 384 px). */
const viltB32: ModelConfig = {
  name: 'vilt-b32',
  imageSize: 384,
  patchSize: 32,
  channels: 3,
  hidden: 768,
  numLayers: 12,
  numHeads: 12,
  mlpDim: 3072,
  maxTextLen: 40,
  vocabSize: 30522,
  numAnswers: 3129,
  peft: 'adapter',
  adapterReduction: 16,
  loraRank: 8,
  loraAlpha: 16,
  layerNormEps: 1e-12,
};

export type PresetName = 'tiny' | 'small' | 'vilt-b32';

export const PRESETS: Readonly<Record<PresetName, Readonly<ModelConfig>>> = {
  tiny,
  small,
  'vilt-b32': viltB32,
};

export function adapterDim(c: ModelConfig): number {
  return Math.max(1, Math.floor(c.hidden / c.adapterReduction));
}

export function numPatches(c: ModelConfig): number {
  return (c.imageSize / c.patchSize) ** 2;
}

/** Throws an error naming the offending field. */
export function validateConfig(c: ModelConfig): ModelConfig {
  const posInt = (k: keyof ModelConfig) => {
    const v = c[k];
    if (typeof v !== 'number' || !Number.isInteger(v) || v <= 0) {
      throw new Error(`model config: ${String(k)} must be a positive integer, got ${String(v)}`);
    }
  };
  for (const k of [
    'imageSize',
    'patchSize',
    'hidden',
    'numLayers',
    'numHeads',
    'mlpDim',
    'maxTextLen',
    'vocabSize',
    'numAnswers',
    'adapterReduction',
    'loraRank',
  ] as const) {
    posInt(k);
  }
  if (c.channels !== 3)
    throw new Error(`model config: channels must be 3, got ${String(c.channels)}`);
  if (c.imageSize % c.patchSize !== 0) {
    throw new Error(
      `model config: imageSize ${c.imageSize} is not a multiple of patchSize ${c.patchSize}`,
    );
  }
  if (c.hidden % c.numHeads !== 0) {
    throw new Error(`model config: hidden ${c.hidden} is not a multiple of numHeads ${c.numHeads}`);
  }
  if (c.maxTextLen < 2)
    throw new Error(`model config: maxTextLen must be >= 2, got ${c.maxTextLen}`);
  if (!(PEFT_KINDS as readonly string[]).includes(c.peft)) {
    throw new Error(
      `model config: peft must be one of ${PEFT_KINDS.map((k) => `'${k}'`).join(', ')}, got ${String(c.peft)}`,
    );
  }
  if (!(c.layerNormEps > 0))
    throw new Error(`model config: layerNormEps must be > 0, got ${c.layerNormEps}`);
  if (!(c.loraAlpha > 0))
    throw new Error(`model config: loraAlpha must be > 0, got ${c.loraAlpha}`);
  return c;
}

export function resolveConfig(
  preset: keyof typeof PRESETS | ModelConfig,
  overrides: Partial<ModelConfig> = {},
): ModelConfig {
  let base: ModelConfig;
  if (typeof preset === 'string') {
    const p = PRESETS[preset];
    if (!p)
      throw new Error(
        `unknown model preset "${preset}"; valid: ${Object.keys(PRESETS).join(', ')}`,
      );
    base = p;
  } else {
    base = preset;
  }
  return validateConfig({ ...base, ...overrides });
}
