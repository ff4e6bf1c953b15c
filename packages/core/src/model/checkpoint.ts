// Model checkpoints as safetensors: every named parameter, the frozen base's 2-D tensors as
// int8 + per-channel fp32 scales (`<name>:scale`), config/answers/quantization in __metadata__.
import type { NamedArrays } from '../tensors/named.js';
import { sizeOf } from '../tensors/named.js';
import { validateConfig, type ModelConfig } from './config.js';
import { initParam, paramSpecs } from './params.js';
import type { Int8Storage } from './int8-store.js';
import { dequantizeInt8, quantizeInt8, type QuantizedInt8 } from './quantize.js';
import { readSafetensors, writeSafetensors, type WriteTensor } from './safetensors.js';
import { VqaModel } from './vqa-model.js';

export const CHECKPOINT_FORMAT = 'focus-fl-vqa/1';
const SCALE = ':scale';

export interface SaveOptions {
  /** 'int8' (default): frozen 2-D tensors stored int8 per channel; 'fp32': everything fp32. */
  quantize?: 'int8' | 'fp32';
  /** 'all' (default) or 'base': only frozen tensors + head (trainable units re-initialised on load). */
  include?: 'all' | 'base';
}

export function saveModel(model: VqaModel, opts: SaveOptions = {}): Uint8Array {
  const quant = opts.quantize ?? 'int8';
  if (quant !== 'int8' && quant !== 'fp32')
    throw new Error(`saveModel: quantize must be 'int8' or 'fp32', got ${String(quant)}`);
  const include = opts.include ?? 'all';
  const tensors: Record<string, WriteTensor> = {};
  const quantAxes: Record<string, number> = {};
  for (const s of paramSpecs(model.config)) {
    if (include === 'base' && !s.frozen && !s.name.startsWith('head/')) continue;
    const kept = model.quantizedWeight(s.name);
    if (quant === 'int8' && kept) {
      // Already int8 in memory: written as is (quantizing its dequantized values again
      // could move a value by one step where q * scale / scale rounds the other way).
      tensors[s.name] = { dtype: 'I8', shape: s.shape, data: kept.q };
      tensors[s.name + SCALE] = { dtype: 'F32', shape: [kept.scales.length], data: kept.scales };
      quantAxes[s.name] = kept.axis;
      continue;
    }
    const data = model.getParams([s.name])[s.name].data;
    if (quant === 'int8' && s.frozen && s.quantAxis !== undefined) {
      const q = quantizeInt8(data, s.shape, s.quantAxis);
      tensors[s.name] = { dtype: 'I8', shape: s.shape, data: q.q };
      tensors[s.name + SCALE] = { dtype: 'F32', shape: [q.scales.length], data: q.scales };
      quantAxes[s.name] = s.quantAxis;
    } else {
      tensors[s.name] = { dtype: 'F32', shape: s.shape, data };
    }
  }
  return writeSafetensors(tensors, {
    format: CHECKPOINT_FORMAT,
    config: JSON.stringify(model.config),
    answers: JSON.stringify(model.answers),
    quantization: JSON.stringify(quantAxes),
  });
}

export interface LoadOptions {
  /** Seed for trainable tensors absent from the checkpoint (a base-only checkpoint). */
  seed?: number;
  /** Override parts of the stored config (e.g. peft: 'lora' on an adapter-free base). */
  configOverrides?: Partial<ModelConfig>;
  /**
   * 'int8' (default): the checkpoint's int8 tensors stay int8 in memory and are dequantized
   * per use (VqaModel.lookup), ~1/4 of the fp32 bytes; 'fp32': dequantized once, here.
   * Both give bitwise the same forward pass.
   */
  weights?: 'int8' | 'fp32';
  /** Where int8 weights live (./int8-store.ts); default 'auto' (device on webgpu). */
  int8Storage?: Int8Storage | 'auto';
}

function parseJson<T>(meta: Record<string, string>, key: string): T {
  const raw = meta[key];
  if (raw === undefined)
    throw new Error(
      `checkpoint: __metadata__.${key} is missing (not a ${CHECKPOINT_FORMAT} checkpoint)`,
    );
  try {
    return JSON.parse(raw) as T;
  } catch {
    throw new Error(`checkpoint: __metadata__.${key} is not valid JSON`);
  }
}

/**
 * Decodes a checkpoint into named fp32 arrays (int8 tensors dequantized) plus its metadata.
 * With `keepInt8`, the int8 tensors are returned as such in `int8` (copied out of `bytes`, so
 * the file's buffer can be freed) and left out of `params`.
 */
export function readCheckpoint(
  bytes: Uint8Array,
  opts: { keepInt8?: boolean } = {},
): {
  config: ModelConfig;
  answers: string[];
  params: NamedArrays;
  quantized: string[];
  int8: Record<string, QuantizedInt8>;
} {
  const file = readSafetensors(bytes);
  if (file.metadata.format !== CHECKPOINT_FORMAT) {
    throw new Error(
      `checkpoint: __metadata__.format is ${JSON.stringify(file.metadata.format)}, expected "${CHECKPOINT_FORMAT}"`,
    );
  }
  const config = validateConfig(parseJson<ModelConfig>(file.metadata, 'config'));
  const answers = parseJson<string[]>(file.metadata, 'answers');
  if (!Array.isArray(answers) || answers.length !== config.numAnswers) {
    throw new Error(`checkpoint: answers must list ${config.numAnswers} strings`);
  }
  const axes = parseJson<Record<string, 0 | 1>>(file.metadata, 'quantization');
  const params: NamedArrays = {};
  const int8: Record<string, QuantizedInt8> = {};
  const quantized: string[] = [];
  for (const [name, t] of Object.entries(file.tensors)) {
    if (name.endsWith(SCALE)) continue;
    if (t.dtype === 'I8') {
      const sc = file.tensors[name + SCALE];
      const axis = axes[name];
      if (!sc || sc.dtype !== 'F32')
        throw new Error(`checkpoint: int8 tensor "${name}" has no F32 "${name}${SCALE}"`);
      if (axis !== 0 && axis !== 1)
        throw new Error(
          `checkpoint: int8 tensor "${name}" has no quantization axis in __metadata__`,
        );
      const q: QuantizedInt8 = {
        shape: t.shape as [number, number],
        axis,
        q: t.data as Int8Array,
        scales: sc.data as Float32Array,
      };
      // readSafetensors' arrays are already independent copies of the file's bytes: kept as
      // they are (a second copy of the base would only leave its first copy as heap garbage,
      // which the allocator keeps resident).
      if (opts.keepInt8) int8[name] = q;
      else params[name] = { shape: t.shape, data: dequantizeInt8(q) };
      quantized.push(name);
    } else if (t.dtype === 'F32' || t.dtype === 'F16' || t.dtype === 'BF16') {
      params[name] = { shape: t.shape, data: t.data as Float32Array };
    } else {
      throw new Error(
        `checkpoint: tensor "${name}" has dtype ${t.dtype}; expected F32, F16, BF16 or I8`,
      );
    }
  }
  return { config, answers, params, quantized, int8 };
}

export function loadModel(bytes: Uint8Array, opts: LoadOptions = {}): VqaModel {
  const weights = opts.weights ?? 'int8';
  if (weights !== 'int8' && weights !== 'fp32')
    throw new Error(`loadModel: weights must be 'int8' or 'fp32', got ${String(weights)}`);
  const ck = readCheckpoint(bytes, { keepInt8: weights === 'int8' });
  const config = validateConfig({ ...ck.config, ...opts.configOverrides });
  const specs = paramSpecs(config);
  const known = new Set(specs.map((s) => s.name));
  for (const name of [...Object.keys(ck.params), ...Object.keys(ck.int8)]) {
    if (!known.has(name))
      throw new Error(
        `checkpoint: unexpected tensor "${name}" for a ${config.name} model with peft "${config.peft}"`,
      );
  }
  const values: NamedArrays = {};
  for (const s of specs) {
    const q = ck.int8[s.name];
    if (q) {
      if (q.shape[0] !== s.shape[0] || q.shape[1] !== s.shape[1] || s.shape.length !== 2)
        throw new Error(
          `checkpoint: tensor "${s.name}" has shape [${q.shape}], the config needs [${s.shape}]`,
        );
      continue;
    }
    const t = ck.params[s.name];
    if (t) {
      if (t.shape.length !== s.shape.length || t.shape.some((d, i) => d !== s.shape[i])) {
        throw new Error(
          `checkpoint: tensor "${s.name}" has shape [${t.shape}], the config needs [${s.shape}]`,
        );
      }
      values[s.name] = t;
    } else if (!s.frozen) {
      values[s.name] = { shape: [...s.shape], data: initParam(s, opts.seed ?? 0) };
    } else {
      throw new Error(`checkpoint: missing frozen tensor "${s.name}"`);
    }
  }
  return new VqaModel(config, ck.answers, values, ck.int8, opts.int8Storage);
}

/** Bytes of the frozen base at rest: int8 (+ fp32 scales, fp32 1-D tensors) vs all fp32. */
export function frozenBytes(config: ModelConfig): {
  int8: number;
  fp32: number;
  frozenParams: number;
} {
  let int8 = 0;
  let fp32 = 0;
  let frozenParams = 0;
  for (const s of paramSpecs(config)) {
    if (!s.frozen) continue;
    const n = sizeOf(s.shape);
    frozenParams += n;
    fp32 += 4 * n;
    int8 += s.quantAxis !== undefined ? n + 4 * s.shape[s.quantAxis] : 4 * n;
  }
  return { int8, fp32, frozenParams };
}
