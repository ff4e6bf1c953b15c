// The VQA model object: named parameters + the functional forward pass (forward.ts).
import * as tf from '@tensorflow/tfjs';
import { layerOf, sizeOf, type NamedArrays } from '../tensors/named.js';
import { resolveConfig, validateConfig, type ModelConfig, type PresetName } from './config.js';
import {
  classify,
  embed,
  runBlocks,
  type ParamLookup,
  type EmbedOptions,
  type HiddenState,
  type VqaBatch,
} from './forward.js';
import {
  deltaUnitTensors,
  HEAD_LAYER,
  headSpecs,
  initParam,
  paramSpecs,
  trainableLayerNames,
  type ParamSpec,
} from './params.js';
import { int8Weight, type Int8Storage, type Int8Weight } from './int8-store.js';
import { fusedInt8Available, int8MatMul } from './int8-matmul.js';
import { dequantizeInt8, quantizeInt8, type QuantizedInt8 } from './quantize.js';

/** Activations after the frozen prefix `[0, fromBlock)`, computed outside any gradient tape. */
export interface Prefix {
  fromBlock: number;
  state: HiddenState;
}

export interface ApplyOptions extends EmbedOptions {
  /**
   * Start from precomputed activations (`model.forwardPrefix`) instead of the batch: blocks
   * before `prefix.fromBlock` are then neither recomputed nor recorded on the gradient tape.
   */
  prefix?: Prefix;
}

export interface CreateOptions {
  seed: number;
  /** Answer classes of the head (sets numAnswers); default `class0..class{numAnswers-1}`. */
  answers?: readonly string[];
  /**
   * 'fp32' (default) or 'int8': frozen 2-D weights quantized as soon as each is initialised and
   * kept int8 in memory (as loading the int8 checkpoint of the fp32 model would give), so no
   * fp32 copy of the base is ever made.
   */
  weights?: 'fp32' | 'int8';
  /** Where int8 weights live (./int8-store.ts); default 'auto' (device on webgpu). */
  int8Storage?: Int8Storage | 'auto';
}

function placeholderAnswers(n: number): string[] {
  return Array.from({ length: n }, (_, i) => `class${i}`);
}

export class VqaModel {
  config: ModelConfig;
  answers: readonly string[];
  private readonly params = new Map<string, tf.Tensor>();
  private specs = new Map<string, ParamSpec>();
  /** Delta families (params.ts): frozen base tensor -> the trainable delta added to it. */
  private readonly deltas: ReadonlyMap<string, string>;
  /**
   * Frozen 2-D weights kept int8 (+ one fp32 scale per channel) in memory, on the host or the
   * device (./int8-store.ts); every use (a forward pass) dequantizes the one weight it needs
   * into a short-lived fp32 tensor (`lookup`), freed by the caller's tidy or gradient tape.
   * Values are bitwise those an fp32 model loaded from the same checkpoint holds (the same
   * q * scale in float32).
   */
  private readonly int8 = new Map<string, Int8Weight>();
  private readonly int8Storage: Int8Storage | 'auto';
  /** fp32 copies of int8 weights handed out by tensor() (kept until releaseDequantized). */
  private readonly dequantized = new Map<string, tf.Tensor>();

  /**
   * Use createModel / loadModel. Takes ownership of `values` as initial weights; `int8` holds
   * frozen weights kept quantized in memory (names absent from `values`), stored per
   * `int8Storage`.
   */
  constructor(
    config: ModelConfig,
    answers: readonly string[],
    values: NamedArrays,
    int8: Readonly<Record<string, QuantizedInt8>> = {},
    int8Storage: Int8Storage | 'auto' = 'auto',
  ) {
    this.int8Storage = int8Storage;
    this.config = validateConfig({ ...config, numAnswers: answers.length });
    this.answers = [...answers];
    for (const s of paramSpecs(this.config)) this.specs.set(s.name, s);
    this.deltas = deltaUnitTensors(this.config);
    for (const [name, q] of Object.entries(int8)) this.checkInt8(name, q);
    for (const name of this.specs.keys()) {
      if (!values[name] && !int8[name]) throw new Error(`model weights: missing tensor "${name}"`);
    }
    this.assign(values, true);
    for (const [name, q] of Object.entries(int8)) {
      if (!values[name]) this.int8.set(name, int8Weight(q, int8Storage));
    }
  }

  private checkInt8(name: string, q: QuantizedInt8): void {
    const s = this.specs.get(name);
    if (!s) throw new Error(`model weights: unknown int8 tensor "${name}"`);
    if (!s.frozen) throw new Error(`model weights: "${name}" is trainable and cannot be int8`);
    if (q.shape.length !== 2 || q.shape[0] !== s.shape[0] || q.shape[1] !== s.shape[1])
      throw new Error(
        `model weights: int8 "${name}" has shape [${q.shape}], expected [${s.shape}]`,
      );
    if (q.q.length !== sizeOf(s.shape) || q.scales.length !== q.shape[q.axis])
      throw new Error(
        `model weights: int8 "${name}" has ${q.q.length} values / ${q.scales.length} scales`,
      );
  }

  /** Trainable units (adapters, LoRA or a delta family) in forward order; not the head. */
  layerNames(): string[] {
    return trainableLayerNames(this.config);
  }

  /** Parameter names of one layer (e.g. `block3.adapter`, `head`), or of the whole model. */
  paramNames(layer?: string): string[] {
    const all = [...this.specs.keys()];
    if (layer === undefined) return all;
    const out = all.filter((n) => layerOf(n) === layer);
    if (out.length === 0)
      throw new Error(
        `unknown layer "${layer}"; trainable layers: ${this.layerNames().join(', ')}, head`,
      );
    return out;
  }

  /** Params trained when `layers` are selected: those layers plus the always-trained head. */
  trainableParamNames(layers: readonly string[]): string[] {
    const valid = new Set(this.layerNames());
    for (const l of layers) {
      if (!valid.has(l))
        throw new Error(`unknown trainable layer "${l}"; valid: ${[...valid].join(', ')}`);
    }
    return [...layers.flatMap((l) => this.paramNames(l)), ...this.paramNames(HEAD_LAYER)];
  }

  frozenParamNames(): string[] {
    return [...this.specs.values()].filter((s) => s.frozen).map((s) => s.name);
  }

  spec(name: string): ParamSpec {
    const s = this.specs.get(name);
    if (!s) throw new Error(`unknown parameter "${name}"`);
    return s;
  }

  /**
   * The model's own tensor (not a copy; do not dispose). For an int8 weight, an fp32 copy
   * kept until releaseDequantized(): the forward pass does not use it (see `lookup`).
   */
  tensor(name: string): tf.Tensor {
    const t = this.params.get(name) ?? this.dequantized.get(name);
    if (t) return t;
    const q = this.int8.get(name);
    if (!q) throw new Error(`unknown parameter "${name}"`);
    const d = q.dequantize();
    this.dequantized.set(name, d);
    return d;
  }

  /**
   * Tokens that stay the same (===, element by element) while the value the forward pass reads
   * for `name` does: its fp32 tensor or int8 form, and its delta's for a delta family. Lets a
   * caller keep results that depend only on some weights (train/eval-embed-cache.ts) and see
   * when they change.
   */
  valueTokens(name: string): readonly unknown[] {
    this.spec(name);
    const own = (n: string) => this.params.get(n) ?? this.int8.get(n) ?? null;
    const d = this.deltas.get(name);
    return d ? [own(name), own(d)] : [own(name)];
  }

  /** The int8 form of a frozen weight kept quantized in memory, else undefined. */
  quantizedWeight(name: string): QuantizedInt8 | undefined {
    return this.int8.get(name)?.toQuantized();
  }

  /** Where each int8 weight lives (host typed arrays or device tensors). */
  int8Storages(): Record<string, Int8Storage> {
    return Object.fromEntries([...this.int8].map(([n, w]) => [n, w.storage]));
  }

  /** Names of the weights kept int8 in memory. */
  int8ParamNames(): string[] {
    return [...this.int8.keys()];
  }

  /** Whether products with this int8 weight run the fused int8 kernel here (webgpu, device storage). */
  runsFusedInt8(name: string): boolean {
    const q = this.int8.get(name);
    return q !== undefined && fusedInt8Available(q);
  }

  /** Disposes the fp32 copies tensor() made of int8 weights. */
  releaseDequantized(): void {
    for (const t of this.dequantized.values()) t.dispose();
    this.dequantized.clear();
  }

  /**
   * Keeps every frozen 2-D weight int8 in memory from now on (quantizeInt8, per channel), as
   * loading an int8 checkpoint does; a no-op for weights already int8.
   */
  quantizeFrozen(): void {
    for (const s of this.specs.values()) {
      const t = this.params.get(s.name);
      if (!s.frozen || s.quantAxis === undefined || !t) continue;
      const q = quantizeInt8(t.dataSync() as Float32Array, s.shape, s.quantAxis);
      this.int8.set(s.name, int8Weight(q, this.int8Storage));
      t.dispose();
      this.params.delete(s.name);
    }
    this.releaseDequantized();
  }

  /** Bytes held by the weights: fp32 tensors (backend memory) and int8 values + scales. */
  residentBytes(): { fp32Tensors: number; int8: number; total: number } {
    let fp32Tensors = 0;
    for (const t of this.params.values()) fp32Tensors += 4 * t.size;
    for (const t of this.dequantized.values()) fp32Tensors += 4 * t.size;
    let int8 = 0;
    for (const q of this.int8.values()) int8 += q.bytes;
    return { fp32Tensors, int8, total: fp32Tensors + int8 };
  }

  /** Copies of the named parameters (all when `names` is omitted). */
  getParams(names?: readonly string[]): NamedArrays {
    const out: NamedArrays = {};
    for (const name of names ?? [...this.specs.keys()]) {
      const q = this.int8.get(name);
      if (q) {
        out[name] = { shape: [...q.shape], data: dequantizeInt8(q.toQuantized()) };
        continue;
      }
      const t = this.tensor(name);
      out[name] = { shape: [...t.shape], data: new Float32Array(t.dataSync()) };
    }
    return out;
  }

  /** Overwrites the named parameters; validates every name and shape before changing any. */
  setParams(named: NamedArrays): void {
    this.assign(named, false);
  }

  private assign(named: NamedArrays, initial: boolean): void {
    for (const [name, v] of Object.entries(named)) {
      const s = this.specs.get(name);
      if (!s) throw new Error(`setParams: unknown parameter "${name}"`);
      if (v.shape.length !== s.shape.length || v.shape.some((d, i) => d !== s.shape[i])) {
        throw new Error(`setParams: "${name}" has shape [${v.shape}], expected [${s.shape}]`);
      }
      if (!(v.data instanceof Float32Array) || v.data.length !== sizeOf(s.shape)) {
        throw new Error(
          `setParams: "${name}" data must be a Float32Array of ${sizeOf(s.shape)} values`,
        );
      }
    }
    for (const [name, v] of Object.entries(named)) {
      if (!initial && !this.specs.has(name)) continue;
      this.params.get(name)?.dispose();
      // An fp32 value replaces the int8 form of a frozen weight.
      this.int8.get(name)?.dispose();
      this.int8.delete(name);
      this.dequantized.get(name)?.dispose();
      this.dequantized.delete(name);
      this.params.set(name, tf.tensor(initial ? v.data : v.data.slice(), v.shape, 'float32'));
    }
  }

  /** Replaces the head with a fresh one over `answers` (seeded small random init, not zero). */
  resetHead(answers: readonly string[], seed: number): void {
    if (answers.length === 0) throw new Error('resetHead: answers is empty');
    this.config = validateConfig({ ...this.config, numAnswers: answers.length });
    this.answers = [...answers];
    for (const s of headSpecs(this.config)) {
      this.specs.set(s.name, s);
      this.params.get(s.name)?.dispose();
      this.params.set(s.name, tf.tensor(initParam(s, seed), s.shape, 'float32'));
    }
  }

  /**
   * The forward pass's parameter lookup: `overrides`, else the model's tensors; an int8 weight
   * is dequantized just in time into a new tensor owned by the caller's scope (tf.tidy or a
   * gradient tape), and the word table is gathered row by row from int8 (`gather`), so no
   * full fp32 copy of the base exists at once outside a gradient tape. On webgpu, products
   * with Linear kernels kept on the device run the fused int8 kernel (`matMul`,
   * ./int8-matmul.ts) and never make an fp32 copy, inside a tape either.
   */
  lookup(overrides: Record<string, tf.Tensor> = {}): ParamLookup {
    const own = (name: string) => {
      const o = overrides[name] ?? this.params.get(name) ?? this.dequantized.get(name);
      if (o) return o;
      const q = this.int8.get(name);
      if (!q) throw new Error(`unknown parameter "${name}"`);
      return q.dequantize();
    };
    // A delta family's tensors are read as base + delta (params.ts, deltaTargetName), so a
    // gradient with respect to the delta (an override) is the gradient of the weight.
    const fn = ((name: string) => {
      const d = this.deltas.get(name);
      return d ? tf.add(own(name), own(d)) : own(name);
    }) as ParamLookup;
    fn.gather = (name, ids) => {
      const q =
        overrides[name] || this.params.has(name) || this.deltas.has(name)
          ? undefined
          : this.int8.get(name);
      const rows = q?.gatherRows(ids.dataSync());
      if (!q || !rows) return tf.gather(fn(name), ids);
      return tf.tensor2d(rows, [ids.size, q.shape[1]]);
    };
    // Products with a Linear kernel kept on the device: the fused int8 kernel (webgpu only;
    // elsewhere the forward pass runs exactly the ops it ran before the kernel existed).
    if (tf.getBackend() === 'webgpu') {
      fn.matMul = (x, name) => {
        // A delta family's kernel is base + delta (fn above): not the int8 kernel alone.
        if (
          overrides[name] ||
          this.params.has(name) ||
          this.dequantized.has(name) ||
          this.deltas.has(name)
        )
          return undefined;
        const q = this.int8.get(name);
        return q && fusedInt8Available(q) ? int8MatMul(x, q) : undefined;
      };
    }
    return fn;
  }

  /**
   * Logits [n, numAnswers]. `params` overrides any named tensor (e.g. tf.variable copies or the
   * arguments of tf.grad). Not wrapped in tidy: call inside tf.tidy / a gradient function.
   */
  apply(params: Record<string, tf.Tensor>, batch: VqaBatch, opts: ApplyOptions = {}): tf.Tensor2D {
    const c = this.config;
    const p = this.lookup(params);
    let state: HiddenState;
    let from = 0;
    if (opts.prefix) {
      state = opts.prefix.state;
      from = opts.prefix.fromBlock;
    } else {
      state = embed(c, p, batch, opts);
    }
    state = runBlocks(c, p, state, from, c.numLayers);
    return classify(c, p, state.x);
  }

  /** Logits as a plain array [n * numAnswers] (inference; disposes its tensors). */
  async predictLogits(batch: VqaBatch): Promise<Float32Array> {
    // Block by block (forwardPrefix): one block's weights and activations alive at a time.
    const pre = this.forwardPrefix(batch, this.config.numLayers);
    const y = tf.tidy(() => this.apply({}, batch, { prefix: pre }));
    try {
      return new Float32Array(await y.data());
    } finally {
      tf.dispose([y, pre.state.x, pre.state.bias]);
    }
  }

  /**
   * The frozen prefix: embeddings and blocks `[0, toBlock)` with the model's own weights, kept
   * outside any tape. Training that only touches blocks >= toBlock starts from it, so the
   * backward pass (and the tape's memory) stops at the earliest trained block.
   */
  forwardPrefix(batch: VqaBatch, toBlock: number, opts: EmbedOptions = {}): Prefix {
    if (!Number.isInteger(toBlock) || toBlock < 0 || toBlock > this.config.numLayers) {
      throw new Error(
        `forwardPrefix: toBlock must be in [0, ${this.config.numLayers}], got ${toBlock}`,
      );
    }
    // One tidy per block: each block's just-in-time dequantized weights and activations are
    // freed before the next block runs.
    const p = this.lookup({});
    const keep = (f: () => HiddenState): HiddenState => {
      const r = tf.tidy(() => {
        const st = f();
        return { x: st.x, bias: st.bias };
      });
      return { x: r.x as tf.Tensor3D, bias: r.bias as tf.Tensor4D };
    };
    let state = keep(() => embed(this.config, p, batch, opts));
    for (let i = 0; i < toBlock; i++) {
      const prev = state;
      state = keep(() => runBlocks(this.config, p, prev, i, i + 1));
      prev.x.dispose();
    }
    return { fromBlock: toBlock, state };
  }

  /** Index of the block a trainable layer belongs to (`block3.adapter` -> 3). */
  blockIndex(layer: string): number {
    const i = this.layerNames().indexOf(layer);
    if (i < 0)
      throw new Error(`unknown trainable layer "${layer}"; valid: ${this.layerNames().join(', ')}`);
    return i;
  }

  /** Parameter counts: trainable = all units (adapters, LoRA or deltas) + head; frozen = the base. */
  countParams(): { trainable: number; frozen: number; perLayer: Record<string, number> } {
    let trainable = 0;
    let frozen = 0;
    const perLayer: Record<string, number> = {};
    for (const s of this.specs.values()) {
      const k = sizeOf(s.shape);
      if (s.frozen) frozen += k;
      else {
        trainable += k;
        perLayer[layerOf(s.name)] = (perLayer[layerOf(s.name)] ?? 0) + k;
      }
    }
    return { trainable, frozen, perLayer };
  }

  dispose(): void {
    for (const t of this.params.values()) t.dispose();
    this.params.clear();
    this.releaseDequantized();
    for (const q of this.int8.values()) q.dispose();
    this.int8.clear();
  }
}

/** A freshly initialised model (seeded; identical weights on every backend). */
export function createModel(config: ModelConfig | PresetName, opts: CreateOptions): VqaModel {
  if (!opts || !Number.isFinite(opts.seed))
    throw new Error('createModel: opts.seed must be a finite number');
  let c = resolveConfig(config);
  const answers = opts.answers ? [...opts.answers] : placeholderAnswers(c.numAnswers);
  c = validateConfig({ ...c, numAnswers: answers.length });
  const weights = opts.weights ?? 'fp32';
  if (weights !== 'fp32' && weights !== 'int8')
    throw new Error(`createModel: weights must be 'fp32' or 'int8', got ${String(weights)}`);
  const values: NamedArrays = {};
  const int8: Record<string, QuantizedInt8> = {};
  for (const s of paramSpecs(c)) {
    const data = initParam(s, opts.seed);
    if (weights === 'int8' && s.frozen && s.quantAxis !== undefined)
      int8[s.name] = quantizeInt8(data, s.shape, s.quantAxis);
    else values[s.name] = { shape: [...s.shape], data };
  }
  return new VqaModel(c, answers, values, int8, opts.int8Storage);
}
