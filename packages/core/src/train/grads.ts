import * as tf from '@tensorflow/tfjs';
import type { VqaBatch } from '../model/forward.js';
import type { ApplyOptions, Prefix, VqaModel } from '../model/vqa-model.js';
import { crossEntropy } from './loss.js';
import { autoMicroBatchSize, recordActivationBytes } from './memory-budget.js';

/**
 * Mean cross-entropy on `batch` and its gradient w.r.t. the named tensors only (`values`
 * overrides the model's tensors, e.g. training variables). tfjs back-propagates only along
 * paths that reach these tensors, i.e. no deeper than the earliest one. Caller disposes.
 */
export function lossAndGrads(
  model: VqaModel,
  batch: VqaBatch,
  names: readonly string[],
  values: Record<string, tf.Tensor> = {},
  opts: ApplyOptions & {
    /** Added to the logits before the loss (question-type answer mask, answer-mask.ts). */
    logitBias?: tf.Tensor2D;
    /** Values of frozen weights read instead of the model's (./frozen-weights.ts). */
    frozen?: Record<string, tf.Tensor>;
  } = {},
): { loss: tf.Scalar; grads: Record<string, tf.Tensor> } {
  const { value, grads } = tf.valueAndGrads((...xs: tf.Tensor[]) => {
    const over: Record<string, tf.Tensor> = { ...opts.frozen };
    names.forEach((n, i) => (over[n] = xs[i]));
    const logits = model.apply(over, batch, opts);
    return crossEntropy(opts.logitBias ? logits.add(opts.logitBias) : logits, batch.labels);
  })(names.map((n) => values[n] ?? model.tensor(n)));
  const named: Record<string, tf.Tensor> = {};
  names.forEach((n, i) => (named[n] = grads[i]));
  return { loss: value as tf.Scalar, grads: named };
}

export interface MicroBatchOptions extends ApplyOptions {
  /** Added to the logits before the loss, [n, answers] (answer mask, answer-mask.ts). */
  logitBias?: tf.Tensor2D;
  /** Values of frozen weights read instead of the model's (./frozen-weights.ts). */
  frozen?: Record<string, tf.Tensor>;
  /**
   * Samples per forward/backward pass. A positive integer forces it; 'auto' (default) picks
   * the largest size whose estimated activation memory fits the backend (./memory-budget.ts).
   */
  microBatch?: number | 'auto';
}

/** Rows [start, start + size) of a batch and of its precomputed prefix (caller disposes). */
function sliceRows(
  batch: VqaBatch,
  prefix: Prefix | undefined,
  start: number,
  size: number,
): { batch: VqaBatch; prefix?: Prefix } {
  return tf.tidy(() => {
    const rows = <T extends tf.Tensor>(t: T): T =>
      tf.slice(t, [start, ...t.shape.slice(1).map(() => 0)], [size, ...t.shape.slice(1)]) as T;
    return {
      batch: {
        images: rows(batch.images),
        tokens: rows(batch.tokens),
        mask: rows(batch.mask),
        labels: rows(batch.labels),
      },
      prefix: prefix && {
        fromBlock: prefix.fromBlock,
        state: { x: rows(prefix.state.x), bias: rows(prefix.state.bias) },
      },
    };
  });
}

/**
 * The same mean loss and gradients as lossAndGrads on the whole batch, from forward/backward
 * passes over micro-batches of at most `microBatch` samples whose gradients are summed,
 * each weighted by its share of the batch (size / n): the mean over n samples is the
 * size-weighted mean of the micro-batch means, and the gradient is linear in it. Peak memory
 * is that of one micro-batch's tape plus one accumulator per trained tensor. Caller disposes.
 */
export function microBatchedLossAndGrads(
  model: VqaModel,
  batch: VqaBatch,
  names: readonly string[],
  values: Record<string, tf.Tensor> = {},
  opts: MicroBatchOptions = {},
): { loss: tf.Scalar; grads: Record<string, tf.Tensor>; microBatch: number } {
  const { microBatch: requested = 'auto', ...apply } = opts;
  const n = batch.labels.shape[0];
  if (requested !== 'auto' && (!Number.isInteger(requested) || requested < 1))
    throw new Error(`microBatch must be a positive integer or 'auto', got ${String(requested)}`);
  const size = Math.min(
    n,
    requested === 'auto'
      ? autoMicroBatchSize(model.config, model.config.numLayers - (apply.prefix?.fromBlock ?? 0))
      : requested,
  );
  if (size >= n) return { ...lossAndGrads(model, batch, names, values, apply), microBatch: n };
  let loss: tf.Scalar = tf.scalar(0);
  let grads: Record<string, tf.Tensor> = {};
  try {
    for (let start = 0; start < n; start += size) {
      const m = Math.min(size, n - start);
      const part = sliceRows(batch, apply.prefix, start, m);
      const bias = apply.logitBias && tf.slice(apply.logitBias, [start, 0], [m, -1]);
      let r: { loss: tf.Scalar; grads: Record<string, tf.Tensor> };
      try {
        r = lossAndGrads(model, part.batch, names, values, {
          ...apply,
          prefix: part.prefix,
          logitBias: bias,
        });
      } finally {
        bias?.dispose();
        tf.dispose([part.batch.images, part.batch.tokens, part.batch.mask, part.batch.labels]);
        if (part.prefix) tf.dispose([part.prefix.state.x, part.prefix.state.bias]);
      }
      const w = m / n;
      const prev = { loss, grads };
      const next = tf.tidy(() => {
        const g: Record<string, tf.Tensor> = {};
        for (const nm of names) {
          const scaled = tf.mul(r.grads[nm], w);
          g[nm] = prev.grads[nm] ? tf.add(prev.grads[nm], scaled) : scaled;
        }
        return { loss: tf.add(prev.loss, tf.mul(r.loss, w)) as tf.Scalar, grads: g };
      });
      tf.dispose([prev.loss, ...Object.values(prev.grads), r.loss, ...Object.values(r.grads)]);
      loss = next.loss;
      grads = next.grads;
    }
    return { loss, grads, microBatch: size };
  } catch (e) {
    tf.dispose([loss, ...Object.values(grads)]);
    throw e;
  }
}

/**
 * Measures the tape cost of one block: the engine's peak bytes (tf.profile) of a forward and
 * backward pass through the last block (its adapter and the head trained) at 1 and at 2
 * samples of a constant batch; the difference is one sample's cost. Recorded for
 * autoMicroBatchSize (./memory-budget.ts), which then sizes micro-batches, LNTK and evaluation
 * chunks from it instead of the estimate. Costs about three one-block passes.
 */
export async function probeActivationBytes(model: VqaModel): Promise<number> {
  const c = model.config;
  const last = model.layerNames()[c.numLayers - 1];
  const names = model.trainableParamNames([last]);
  const peakAt = async (n: number): Promise<number> => {
    const batch: VqaBatch = {
      images: tf.zeros([n, c.imageSize, c.imageSize, 3]),
      tokens: tf.ones([n, c.maxTextLen], 'int32'),
      mask: tf.ones([n, c.maxTextLen]),
      labels: tf.zeros([n], 'int32'),
    };
    const prefix = model.forwardPrefix(batch, c.numLayers - 1);
    try {
      const info = await tf.profile(() => {
        const r = lossAndGrads(model, batch, names, {}, { prefix });
        tf.dispose([r.loss, ...Object.values(r.grads)]);
      });
      return info.peakBytes;
    } finally {
      tf.dispose([batch.images, batch.tokens, batch.mask, batch.labels]);
      tf.dispose([prefix.state.x, prefix.state.bias]);
    }
  };
  await peakAt(1); // warm-up: kernels and caches allocate once
  const perSample = Math.max(1, (await peakAt(2)) - (await peakAt(1)));
  recordActivationBytes(c, perSample);
  return perSample;
}
