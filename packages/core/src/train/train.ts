// Local training of a chosen set of trainable layers (plus the always-trained head) with
// AdamW (docs/method.md §3). Only the selected units get gradients; frozen blocks before the
// earliest selected one run outside the gradient tape (model.forwardPrefix), so the backward
// pass stops there and a late-only selection is cheaper than an early one; their activations
// are computed once per call and reused by every step (step-batches.ts).
import * as tf from '@tensorflow/tfjs';
import { mulberry32, shuffleInPlace } from '../random.js';
import type { NamedArrays } from '../tensors/named.js';
import { type SampleLike } from '../model/batch.js';
import { isSampleSource, type SampleSource } from '../data/sample-source.js';
import type { VqaModel } from '../model/vqa-model.js';
import { AdamW } from './adamw.js';
import { dequantizedFrozen } from './frozen-weights.js';
import { answerMaskBias } from './answer-mask.js';
import { microBatchedLossAndGrads } from './grads.js';
import { openStepBatches, type StepBatches } from './step-batches.js';
import {
  SgdMomentum,
  learningRateAt,
  validateLocalRecipe,
  proximalAnchors,
  withProximal,
  type LocalOptimizer,
  type LocalRecipe,
} from './local-recipe.js';

export interface TrainProgress {
  step: number;
  steps: number;
  epoch: number;
  loss: number;
}

export interface TrainOptions extends LocalRecipe {
  /** Trainable layers to update (names from model.layerNames()); the head is always trained. */
  layers: readonly string[];
  /** Exactly one of steps / epochs. */
  steps?: number;
  epochs?: number;
  batchSize?: number;
  lr?: number;
  weightDecay?: number;
  /** Linear warm-up over this fraction of the steps (FedDAT-style 0.1); default 0. */
  warmupFraction?: number;
  seed: number;
  /** Called after every step; may return a promise (e.g. to yield to the event loop). */
  onProgress?: (p: TrainProgress) => void | Promise<void>;
  /** Run frozen blocks before the earliest trained one outside the tape (default true). */
  frozenPrefix?: boolean;
  /**
   * Byte cap of the frozen-prefix cache (the prefix activations of each drawn sample, computed
   * once per call); samples beyond it are recomputed per step. 0 disables the cache. Default
   * 128 MiB.
   */
  prefixCacheBytes?: number;
  /**
   * Samples per forward/backward pass; a step's gradient is accumulated over its micro-batches
   * (./grads.ts). Default 'auto': sized from the backend's memory limits (./memory-budget.ts).
   */
  microBatchSize?: number | 'auto';
  /**
   * Rule 'site' of `answerMask`: the site's training answers. Taken from `samples` when it is
   * an array; required for a SampleSource (ModelCompute scans it once per site).
   */
  siteAnswers?: readonly string[];
  /**
   * An optimiser to continue instead of a fresh one (its moments and step count carry over
   * from the caller's earlier calls; the caller owns it and disposes it). A personalised site
   * keeps one for its own adapters across rounds (core federated/personalization.ts).
   */
  continueOptimizer?: LocalOptimizer;
  /**
   * The point the proximal term (`proxMu`) pulls toward, by parameter name; default: the
   * params at the start of the call (FedProx). A Ditto personal model starts from the site's
   * own params and is pulled toward the global ones (./local-recipe.ts proximalAnchors).
   */
  proxAnchor?: NamedArrays;
}

export const DEFAULT_PREFIX_CACHE_BYTES = 128 * 2 ** 20;

export interface TrainMetrics {
  steps: number;
  epochs: number;
  samplesSeen: number;
  /** Mean training loss over all steps and over the last 10% of steps. */
  meanLoss: number;
  finalLoss: number;
  seconds: number;
  stepsPerSecond: number;
  trainedParams: number;
  /** Whether the frozen-prefix activations came from the per-call cache. */
  prefixCached: boolean;
}

export interface TrainResult {
  /** new - old for exactly the params of `layers` and the head. The model is updated in place. */
  deltas: NamedArrays;
  metrics: TrainMetrics;
}

function checkPositiveInt(name: string, v: number | undefined): void {
  if (v !== undefined && (!Number.isInteger(v) || v <= 0))
    throw new Error(`trainLayers: ${name} must be a positive integer, got ${v}`);
}

export async function trainLayers(
  model: VqaModel,
  samples: readonly SampleLike[] | SampleSource<SampleLike>,
  opts: TrainOptions,
): Promise<TrainResult> {
  if (samples.length === 0) throw new Error('trainLayers: samples is empty');
  if (!Array.isArray(opts.layers))
    throw new Error('trainLayers: layers must be an array of layer names');
  if ((opts.steps === undefined) === (opts.epochs === undefined))
    throw new Error('trainLayers: give exactly one of steps or epochs');
  checkPositiveInt('steps', opts.steps);
  checkPositiveInt('epochs', opts.epochs);
  checkPositiveInt('batchSize', opts.batchSize);
  validateLocalRecipe(opts);
  if (!Number.isFinite(opts.seed)) throw new Error('trainLayers: seed must be a finite number');
  const batchSize = Math.min(opts.batchSize ?? 32, samples.length);
  const perEpoch = Math.ceil(samples.length / batchSize);
  const steps = opts.steps ?? (opts.epochs as number) * perEpoch;
  const lr = opts.lr ?? 1e-3;
  const warm = Math.floor((opts.warmupFraction ?? 0) * steps);

  const names = model.trainableParamNames(opts.layers);
  const before = model.getParams(names);
  const vars: Record<string, tf.Variable> = {};
  for (const n of names) vars[n] = tf.variable(model.tensor(n), true);
  const varList = names.map((n) => vars[n]);
  const firstBlock = opts.layers.length
    ? Math.min(...opts.layers.map((l) => model.blockIndex(l)))
    : model.config.numLayers;
  const usePrefix = (opts.frozenPrefix ?? true) && firstBlock > 0;
  const cacheBytes = opts.prefixCacheBytes ?? DEFAULT_PREFIX_CACHE_BYTES;
  if (!(cacheBytes >= 0))
    throw new Error(`trainLayers: prefixCacheBytes must be >= 0, got ${cacheBytes}`);

  let source: StepBatches | undefined;
  let frozen: Record<string, tf.Tensor> = {};
  // Rule 'site': the site's answers are those of its own training samples (given by the caller
  // for a SampleSource, which is never read whole here).
  const siteAnswers =
    opts.answerMask === 'site'
      ? (opts.siteAnswers ?? (isSampleSource(samples) ? undefined : samples.map((s) => s.answer)))
      : undefined;
  if (opts.answerMask === 'site' && !siteAnswers)
    throw new Error("trainLayers: answer mask 'site' over a SampleSource needs opts.siteAnswers");
  const opt: LocalOptimizer =
    opts.continueOptimizer ??
    (opts.optimizer === 'sgdm'
      ? new SgdMomentum({ momentum: opts.momentum ?? 0.9, weightDecay: opts.weightDecay ?? 0.01 })
      : new AdamW({ lr, weightDecay: opts.weightDecay ?? 0.01 }));
  const proxMu = opts.proxMu ?? 0;
  const anchors = proximalAnchors(proxMu, names, (n) => model.tensor(n), opts.proxAnchor);
  const rand = mulberry32(opts.seed);
  let order: number[] = [];
  let cursor = 0;
  let epoch = 0;
  const losses: number[] = [];
  const t0 = performance.now();
  try {
    source = openStepBatches(model, samples, {
      fromBlock: usePrefix ? firstBlock : 0,
      cacheBytes,
    });
    // The int8 frozen weights the steps read, dequantized once for the call (the same values).
    frozen = dequantizedFrozen(model, usePrefix ? firstBlock : 0);
    for (let step = 0; step < steps; step++) {
      if (cursor >= order.length) {
        order = shuffleInPlace(
          Array.from({ length: samples.length }, (_, i) => i),
          rand,
        );
        cursor = 0;
        epoch += 1;
      }
      const idx = order.slice(cursor, cursor + batchSize);
      cursor += batchSize;
      const mb = await source.take(idx, order.slice(cursor, cursor + batchSize));
      let loss: number;
      try {
        // The step's rows of the answer mask (answer-mask.ts); null for rule 'none'.
        const logitBias =
          answerMaskBias(mb.rows, model.answers, opts.answerMask, { siteAnswers }) ?? undefined;
        let out: ReturnType<typeof microBatchedLossAndGrads>;
        try {
          out = microBatchedLossAndGrads(model, mb.batch, names, vars, {
            prefix: mb.prefix,
            microBatch: opts.microBatchSize,
            logitBias,
            frozen,
          });
        } finally {
          logitBias?.dispose();
        }
        const value = out.loss;
        const grads = withProximal(out.grads, vars, anchors, proxMu);
        opt.step(vars, grads, learningRateAt(step, steps, lr, warm, opts.schedule));
        loss = (await value.data())[0];
        tf.dispose([value, ...Object.values(grads)]);
      } finally {
        mb.dispose();
      }
      if (!Number.isFinite(loss))
        throw new Error(`trainLayers: loss is ${loss} at step ${step} (lr ${lr} too high?)`);
      losses.push(loss);
      await opts.onProgress?.({ step: step + 1, steps, epoch, loss });
    }
    const seconds = (performance.now() - t0) / 1000;
    const after: NamedArrays = {};
    for (const n of names)
      after[n] = { shape: [...vars[n].shape], data: new Float32Array(vars[n].dataSync()) };
    model.setParams(after);
    const deltas: NamedArrays = {};
    let trainedParams = 0;
    for (const n of names) {
      const d = after[n].data.slice();
      const b = before[n].data;
      for (let i = 0; i < d.length; i++) d[i] -= b[i];
      deltas[n] = { shape: [...after[n].shape], data: d };
      trainedParams += d.length;
    }
    const tail = losses.slice(-Math.max(1, Math.ceil(losses.length / 10)));
    return {
      deltas,
      metrics: {
        steps,
        epochs: steps / perEpoch,
        samplesSeen: steps * batchSize,
        meanLoss: losses.reduce((a, b) => a + b, 0) / losses.length,
        finalLoss: tail.reduce((a, b) => a + b, 0) / tail.length,
        seconds,
        stepsPerSecond: steps / seconds,
        trainedParams,
        prefixCached: source.cached,
      },
    };
  } finally {
    if (!opts.continueOptimizer) opt.dispose();
    tf.dispose(Object.values(frozen));
    tf.dispose(Object.values(anchors));
    tf.dispose(varList);
    source?.dispose();
  }
}
