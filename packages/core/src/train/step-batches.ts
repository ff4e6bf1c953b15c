// Where each training step's minibatch comes from. The samples are encoded once per
// trainLayers call (never per step); a step takes rows of that encoding and, when the blocks
// before the earliest trained one are frozen, the activations after that frozen prefix.
//
// Frozen-prefix cache: those prefix activations depend only on the sample and the frozen
// weights, which do not change during local training, so they are computed once per call (one
// round of local training) for every sample and gathered per step, instead of re-running the
// embeddings and the frozen blocks on every step and epoch. Bounded by `cacheBytes`; above it
// the prefix is recomputed per step (the results are the same either way, see
// test/train-prefix-cache.test.ts).
import * as tf from '@tensorflow/tfjs';
import { disposeBatch, sliceBatch } from '../model/batch.js';
import type { VqaBatch } from '../model/forward.js';
import type { Prefix, VqaModel } from '../model/vqa-model.js';

/** One step's inputs: the batch (or its labels, when a prefix replaces the inputs) and prefix. */
export interface StepBatch {
  batch: VqaBatch;
  prefix?: Prefix;
  dispose(): void;
}

export interface StepBatchSource {
  /** The minibatch of the encoded samples at `indices`; the caller disposes it. */
  take(indices: readonly number[]): StepBatch;
  /** Whether prefix activations come from the per-call cache (else: computed per step). */
  readonly cached: boolean;
  /** Bytes held by the cache (0 when not cached). */
  readonly cacheBytes: number;
  dispose(): void;
}

export interface StepBatchOptions {
  /** Run blocks [0, fromBlock) outside the tape; 0 = no prefix (everything on the tape). */
  fromBlock: number;
  /** Cache the prefix activations when they fit in this many bytes; 0 disables the cache. */
  cacheBytes: number;
  /** Rows per forward pass when filling the cache (bounds its transient memory). */
  chunk: number;
}

/** Bytes of the cached activations for `n` samples: x [n, L, H] and bias [n, 1, 1, L], fp32. */
export function prefixCacheBytes(model: VqaModel, n: number): number {
  const c = model.config;
  const L = c.maxTextLen + (c.imageSize / c.patchSize) ** 2 + 1;
  return n * (L * c.hidden + L) * 4;
}

/** Per-step source over `all` (the encoded samples; not owned, the caller disposes it). */
export function stepBatchSource(
  model: VqaModel,
  all: VqaBatch,
  o: StepBatchOptions,
): StepBatchSource {
  const n = all.labels.shape[0];
  const bytes = prefixCacheBytes(model, n);
  if (o.fromBlock === 0) return perStep(model, all, 0);
  if (o.cacheBytes <= 0 || bytes > o.cacheBytes) return perStep(model, all, o.fromBlock);

  const xs: tf.Tensor3D[] = [];
  const biases: tf.Tensor4D[] = [];
  let cache: { x: tf.Tensor3D; bias: tf.Tensor4D };
  try {
    for (let start = 0; start < n; start += o.chunk) {
      const idx = Array.from({ length: Math.min(o.chunk, n - start) }, (_, i) => start + i);
      const part = sliceBatch(all, idx);
      try {
        const { state } = model.forwardPrefix(part, o.fromBlock);
        xs.push(state.x);
        biases.push(state.bias);
      } finally {
        disposeBatch(part);
      }
    }
    cache = {
      x: (xs.length === 1 ? xs[0].clone() : tf.concat(xs, 0)) as tf.Tensor3D,
      bias: (biases.length === 1 ? biases[0].clone() : tf.concat(biases, 0)) as tf.Tensor4D,
    };
  } finally {
    tf.dispose([...xs, ...biases]);
  }
  return {
    cached: true,
    cacheBytes: bytes,
    take(indices) {
      // The batch's own rows too (a few KB), so that a StepBatch is always self-consistent.
      const batch = sliceBatch(all, indices);
      const state = tf.tidy(() => {
        const ix = tf.tensor1d(Array.from(indices), 'int32');
        return {
          x: tf.gather(cache.x, ix) as tf.Tensor3D,
          bias: tf.gather(cache.bias, ix) as tf.Tensor4D,
        };
      });
      return {
        batch,
        prefix: { fromBlock: o.fromBlock, state },
        dispose: () => {
          disposeBatch(batch);
          tf.dispose([state.x, state.bias]);
        },
      };
    },
    dispose: () => tf.dispose([cache.x, cache.bias]),
  };
}

/** No cache: slice the encoded samples and (optionally) run the prefix every step. */
function perStep(model: VqaModel, all: VqaBatch, fromBlock: number): StepBatchSource {
  return {
    cached: false,
    cacheBytes: 0,
    take(indices) {
      const batch = sliceBatch(all, indices);
      const prefix = fromBlock > 0 ? model.forwardPrefix(batch, fromBlock) : undefined;
      return {
        batch,
        prefix,
        dispose: () => {
          disposeBatch(batch);
          if (prefix) tf.dispose([prefix.state.x, prefix.state.bias]);
        },
      };
    },
    dispose: () => undefined,
  };
}
