// The VQA model object: named parameters + the functional forward pass (forward.ts).
import * as tf from '@tensorflow/tfjs';
import { layerOf, sizeOf, type NamedArrays } from '../tensors/named.js';
import { resolveConfig, validateConfig, type ModelConfig, type PresetName } from './config.js';
import {
  classify,
  embed,
  runBlocks,
  type EmbedOptions,
  type HiddenState,
  type VqaBatch,
} from './forward.js';
import {
  HEAD_LAYER,
  headSpecs,
  initParam,
  paramSpecs,
  trainableLayerNames,
  type ParamSpec,
} from './params.js';

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
}

function placeholderAnswers(n: number): string[] {
  return Array.from({ length: n }, (_, i) => `class${i}`);
}

export class VqaModel {
  config: ModelConfig;
  answers: readonly string[];
  private readonly params = new Map<string, tf.Tensor>();
  private specs = new Map<string, ParamSpec>();

  /** Use createModel / loadModel. Takes ownership of `values` as initial weights. */
  constructor(config: ModelConfig, answers: readonly string[], values: NamedArrays) {
    this.config = validateConfig({ ...config, numAnswers: answers.length });
    this.answers = [...answers];
    for (const s of paramSpecs(this.config)) this.specs.set(s.name, s);
    for (const name of this.specs.keys()) {
      if (!values[name]) throw new Error(`model weights: missing tensor "${name}"`);
    }
    this.assign(values, true);
  }

  /** Trainable units (adapters or LoRA) in forward order; the head is not among them. */
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

  /** The model's own tensor (not a copy; do not dispose). */
  tensor(name: string): tf.Tensor {
    const t = this.params.get(name);
    if (!t) throw new Error(`unknown parameter "${name}"`);
    return t;
  }

  /** Copies of the named parameters (all when `names` is omitted). */
  getParams(names?: readonly string[]): NamedArrays {
    const out: NamedArrays = {};
    for (const name of names ?? [...this.specs.keys()]) {
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

  private lookup(overrides: Record<string, tf.Tensor>): (name: string) => tf.Tensor {
    return (name) => overrides[name] ?? this.tensor(name);
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
    const y = tf.tidy(() => this.apply({}, batch));
    try {
      return new Float32Array(await y.data());
    } finally {
      y.dispose();
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
    const state = tf.tidy(() => {
      const p = this.lookup({});
      const s = runBlocks(this.config, p, embed(this.config, p, batch, opts), 0, toBlock);
      return { x: s.x, bias: s.bias };
    });
    return { fromBlock: toBlock, state };
  }

  /** Index of the block a trainable layer belongs to (`block3.adapter` -> 3). */
  blockIndex(layer: string): number {
    const i = this.layerNames().indexOf(layer);
    if (i < 0)
      throw new Error(`unknown trainable layer "${layer}"; valid: ${this.layerNames().join(', ')}`);
    return i;
  }

  /** Parameter counts: trainable = all adapters/LoRA + head; frozen = the base. */
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
  }
}

/** A freshly initialised model (seeded; identical weights on every backend). */
export function createModel(config: ModelConfig | PresetName, opts: CreateOptions): VqaModel {
  if (!opts || !Number.isFinite(opts.seed))
    throw new Error('createModel: opts.seed must be a finite number');
  let c = resolveConfig(config);
  const answers = opts.answers ? [...opts.answers] : placeholderAnswers(c.numAnswers);
  c = validateConfig({ ...c, numAnswers: answers.length });
  const values: NamedArrays = {};
  for (const s of paramSpecs(c))
    values[s.name] = { shape: [...s.shape], data: initParam(s, opts.seed) };
  return new VqaModel(c, answers, values);
}
