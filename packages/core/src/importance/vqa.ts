import * as tf from '@tensorflow/tfjs';
import { isSampleSource, type SampleSource } from '../data/sample-source.js';
import { disposeBatch, encodeBatch, sliceBatch, type SampleLike } from '../model/batch.js';
import { classify, runBlocks, type VqaBatch } from '../model/forward.js';
import type { Prefix, VqaModel } from '../model/vqa-model.js';
import { mulberry32, shuffleInPlace } from '../random.js';
import type { NamedArrays } from '../tensors/named.js';
import { autoMicroBatchSize } from '../train/memory-budget.js';
import { trainLayers } from '../train/train.js';
import type { Differentiable } from './differentiable.js';
import { type LntkOptions, type LntkResult, lntkOf } from './lntk.js';
import { type LayerScores, type ScorerMethod, isScorerMethod, SCORER_METHODS } from './methods.js';
import { type ScorerOptions, layerScores } from './scorers.js';
import { dequantizedFrozen } from '../train/frozen-weights.js';

/**
 * Which weights stand for trainable layer `block{i}.adapter` when scoring:
 * - `adapter` (default): the adapter's own parameters (down/up kernels and biases).
 * - `block`: the "model layer" variant: block i's own frozen weights (attention
 *   q/k/v/o and MLP kernels and biases). Well defined at init whatever the adapter init, and
 *   measures how much the output depends on block i; the adapter of that block is then
 *   selected as its stand-in.
 */
export type ScoredUnit = 'adapter' | 'block';

const BLOCK_PARAMS = ['q', 'k', 'v', 'o', 'mlp1', 'mlp2'].flatMap((p) => [
  `${p}_kernel`,
  `${p}_bias`,
]);

export interface VqaDifferentiable extends Differentiable {
  dispose(): void;
}

/**
 * Binds a VqaModel to a fixed set of samples as a Differentiable. Encodes the samples once;
 * sub-batches are sliced outside the gradient tape and cached. The parameter tensors are the
 * model's own (never disposed here). Dispose the result to free the encoded batches.
 */
export function vqaDifferentiable(
  model: VqaModel,
  samples: readonly SampleLike[],
  opts: { unit?: ScoredUnit } = {},
): VqaDifferentiable {
  const unit = opts.unit ?? 'adapter';
  if (unit !== 'adapter' && unit !== 'block')
    throw new Error(`unit must be 'adapter' or 'block', got "${String(unit)}"`);
  if (samples.length === 0) throw new Error('samples is empty');
  const layers = model.layerNames();
  const paramsByLayer = new Map<string, string[]>();
  layers.forEach((l, i) =>
    paramsByLayer.set(
      l,
      unit === 'adapter' ? model.paramNames(l) : BLOCK_PARAMS.map((p) => `block${i}/${p}`),
    ),
  );
  const params: Record<string, tf.Tensor> = {};
  for (const names of paramsByLayer.values()) for (const n of names) params[n] = model.tensor(n);
  // The int8 frozen weights, dequantized once instead of at every pass (train/frozen-weights.ts:
  // the same values); the scored tensors `p` of each call override them.
  const frozen = dequantizedFrozen(model, 0);

  const all = encodeBatch(samples, { config: model.config, answers: model.answers });
  const labels = Array.from(all.labels.dataSync());
  const cache = new Map<string, VqaBatch>();
  const batchOf = (idx: readonly number[]): VqaBatch => {
    if (idx.length === samples.length && idx.every((v, i) => v === i)) return all;
    const key = idx.join(',');
    let b = cache.get(key);
    if (!b) {
      // Slicing must not be recorded on a caller's gradient tape: tf.grads records every op.
      b = sliceBatch(all, idx);
      for (const t of [b.images, b.tokens, b.mask, b.labels]) tf.keep(t);
      cache.set(key, b);
    }
    return b;
  };
  const prefixes = new Map<string, Prefix>();
  const prefixOf = (idx: readonly number[]): Prefix => {
    const key = idx.join(',');
    let pre = prefixes.get(key);
    if (!pre) {
      pre = model.forwardPrefix(batchOf(idx), 0);
      tf.keep(pre.state.x);
      tf.keep(pre.state.bias);
      prefixes.set(key, pre);
    }
    return pre;
  };
  // Synflow's data-free input: an all-ones image, and every text position set to token id 1
  // with a full mask (a token sequence has no "all ones" otherwise).
  let ones: VqaBatch | undefined;
  let absAll: Record<string, tf.Tensor> | undefined;
  return {
    layers,
    paramsOf: (l) => {
      const ps = paramsByLayer.get(l);
      if (!ps) throw new Error(`unknown layer "${l}"; valid: ${layers.join(', ')}`);
      return ps;
    },
    params,
    numSamples: samples.length,
    labels,
    // The embeddings depend on no scored weight: computed once per sub-batch outside the tape
    // (model.forwardPrefix at block 0), which saves their forward and tape cost per call.
    output: (p, idx) => model.apply({ ...frozen, ...p }, batchOf(idx), { prefix: prefixOf(idx) }),
    // model.apply's computation with a hook on the adapters' dense ops (LNTK's batched path).
    // Only for Pfeiffer adapters scored as themselves: LoRA factors and block weights are not
    // tapped, so LNTK falls back to per-sample passes for them.
    tappedOutput:
      unit === 'adapter' && model.config.peft === 'adapter'
        ? (p, idx, tap) => {
            const c = model.config;
            const lookup = model.lookup({ ...frozen, ...p });
            const pre = prefixOf(idx);
            const s = runBlocks(c, lookup, pre.state, pre.fromBlock, c.numLayers, tap);
            return classify(c, lookup, s.x);
          }
        : undefined,
    onesOutput: (p) => {
      const S = model.config.imageSize;
      const T = model.config.maxTextLen;
      ones ??= tf.tidy(() => ({
        images: tf.keep(tf.ones([1, S, S, 3])) as tf.Tensor4D,
        tokens: tf.keep(tf.ones([1, T], 'int32')) as tf.Tensor2D,
        mask: tf.keep(tf.ones([1, T])) as tf.Tensor2D,
        labels: tf.keep(tf.zeros([1], 'int32')) as tf.Tensor1D,
      }));
      // Synflow: theta <- |theta| for every weight of the network, the frozen base included.
      absAll ??= Object.fromEntries(
        model.paramNames().map((n) => [n, tf.keep(tf.abs(model.tensor(n)))]),
      );
      return model.apply({ ...absAll, ...p }, ones);
    },
    dispose: () => {
      disposeBatch(all);
      for (const b of cache.values()) disposeBatch(b);
      cache.clear();
      for (const pre of prefixes.values()) tf.dispose([pre.state.x, pre.state.bias]);
      prefixes.clear();
      if (ones) disposeBatch(ones);
      if (absAll) tf.dispose(Object.values(absAll));
      tf.dispose(Object.values(frozen));
      // fp32 copies of int8 weights taken for `block` scoring or Synflow.
      model.releaseDequantized();
    },
  };
}

/**
 * The n samples a client scores on: all of them when there are at most n, else a seeded
 * random subset (kept in the client's order).
 */
export function pickSamples<T>(samples: readonly T[], n: number, seed: number): T[] {
  return pickIndices(samples.length, n, seed).map((i) => samples[i]);
}

/** The indices `pickSamples` keeps, in increasing order (to read just those from a store). */
export function pickIndices(length: number, n: number, seed: number): number[] {
  if (!Number.isInteger(n) || n < 1)
    throw new Error(`numSamples must be a positive integer, got ${n}`);
  if (length <= n) return Array.from({ length }, (_, i) => i);
  return shuffleInPlace(
    Array.from({ length }, (_, i) => i),
    mulberry32(seed ^ 0x1a7c),
  )
    .slice(0, n)
    .sort((a, b) => a - b);
}

export interface ComputeLntkOptions extends LntkOptions {
  /** Samples used (n in docs/method.md §1). Default 16. */
  numSamples?: number;
  /** Default 'adapter'. */
  unit?: ScoredUnit;
}

/**
 * LNTK scores of a client (docs/method.md §1, docs/interfaces.md). Defaults: n = 16, the centred
 * true-answer-logit kernel, and `probe: 'zero-kernels'` so that zero-initialised adapter
 * up-projections (round 1) do not silence the down-projections (see ./README.md). Trained
 * adapters have no all-zero matrix, so the probe then changes nothing.
 */
export function computeLntk(
  model: VqaModel,
  samples: readonly SampleLike[],
  opts: ComputeLntkOptions = {},
): LntkResult {
  const started = performance.now();
  const seed = opts.seed ?? 0;
  const chosen = pickSamples(samples, opts.numSamples ?? 16, seed);
  const d = vqaDifferentiable(model, chosen, { unit: opts.unit });
  try {
    const r = lntkOf(d, {
      probe: 'zero-kernels',
      ...opts,
      seed,
      chunkSize: opts.chunkSize ?? autoMicroBatchSize(model.config, model.config.numLayers),
    });
    return { ...r, elapsedMs: performance.now() - started };
  } finally {
    d.dispose();
  }
}

export interface ScoreLayersOptions extends ScorerOptions {
  numSamples?: number;
  unit?: ScoredUnit;
}

/**
 * One score per layer of model.layerNames() by a baseline scorer (docs/method.md §4) on a seeded
 * subset of `samples` (default 16). FedSelect needs `opts.delta` (see fedselectDelta).
 */
export function scoreLayers(
  method: ScorerMethod,
  model: VqaModel,
  samples: readonly SampleLike[],
  opts: ScoreLayersOptions = {},
): number[] {
  if (!isScorerMethod(method))
    throw new Error(`unknown scorer "${String(method)}"; valid: ${SCORER_METHODS.join(', ')}`);
  const seed = opts.seed ?? 0;
  const chosen = pickSamples(samples, opts.numSamples ?? 16, seed);
  const d = vqaDifferentiable(model, chosen, { unit: opts.unit });
  try {
    return layerScores(method, d, {
      ...opts,
      seed,
      lntk: { probe: 'zero-kernels', seed, ...opts.lntk },
    });
  } finally {
    d.dispose();
  }
}

/**
 * FedSelect's input when no real local update is at hand: train every adapter (plus the head)
 * for `steps` (default 5) on the samples, return theta after - theta before, and restore the
 * model to its weights before the call.
 */
export async function fedselectDelta(
  model: VqaModel,
  samples: readonly SampleLike[] | SampleSource<SampleLike>,
  opts: { seed?: number; steps?: number; lr?: number; batchSize?: number } = {},
): Promise<NamedArrays> {
  const layers = model.layerNames();
  const before = model.getParams(model.trainableParamNames(layers));
  try {
    const r = await trainLayers(model, samples, {
      layers,
      steps: opts.steps ?? 5,
      batchSize: Math.min(opts.batchSize ?? 16, samples.length),
      lr: opts.lr ?? 1e-3,
      seed: opts.seed ?? 0,
    });
    return r.deltas;
  } finally {
    model.setParams(before);
  }
}

export interface SiteScoresOptions {
  seed: number;
  /** Samples scored (n; default 16, the LNTK default). */
  numSamples?: number;
  /** FedSelect's probe training (default 5 steps, see fedselectDelta). */
  fedselectSteps?: number;
}

/**
 * A site's named layer scores by any scorer method: what the site sends in its `scores`
 * message. FedSelect first runs its short local probe training (fedselectDelta: every adapter
 * plus the head, weights restored afterwards) and scores |theta after - theta before|, as the
 * FedSelect paper does; every other method scores the current weights directly.
 */
export async function siteScores(
  method: ScorerMethod,
  model: VqaModel,
  all: readonly SampleLike[] | SampleSource<SampleLike>,
  opts: SiteScoresOptions,
): Promise<LayerScores> {
  // A store-backed site reads only the samples the scorer picks (the same pick as on an array).
  const samples = isSampleSource(all)
    ? await all.read(pickIndices(all.length, opts.numSamples ?? 16, opts.seed))
    : all;
  if (method === 'lntk') {
    const r = computeLntk(model, samples, { numSamples: opts.numSamples, seed: opts.seed });
    return { layers: r.layers, scores: r.scores };
  }
  const delta =
    method === 'fedselect'
      ? await fedselectDelta(model, all, { seed: opts.seed, steps: opts.fedselectSteps })
      : undefined;
  const scores = scoreLayers(method, model, samples, {
    seed: opts.seed,
    numSamples: opts.numSamples,
    delta,
  });
  return { layers: model.layerNames(), scores };
}
