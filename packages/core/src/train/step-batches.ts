// Where each training step's minibatch comes from. The samples are encoded once per
// trainLayers call (never per step); a step takes rows of that encoding and, when the blocks
// before the earliest trained one are frozen, the activations after that frozen prefix.
//
// Frozen-prefix cache: those activations depend only on the sample and the frozen weights,
// which do not change during local training, so each sample's are computed the first time a
// step draws it and reused by every later step and epoch of the call (one round of local
// training), instead of re-running the embeddings and frozen blocks every step. A sample is
// never computed twice while the cache has room (`cacheBytes`); beyond that, samples without a
// slot are recomputed when drawn. The results are the same bits either way (a row's
// activations do not depend on the other rows of its batch; test/train-prefix-cache.test.ts).
import * as tf from '@tensorflow/tfjs';
import { isSampleSource, type SampleSource } from '../data/sample-source.js';
import { disposeBatch, encodeBatch, sliceBatch, type SampleLike } from '../model/batch.js';
import { batchReader } from './batches.js';
import { sequenceLength } from '../model/flops.js';
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
  /** Whether prefix activations are cached for the call (else: computed every step). */
  readonly cached: boolean;
  /** Bytes held by the cache now. */
  readonly cacheBytes: number;
  /** Prefix rows read from the cache / computed, so far. */
  readonly stats: { hits: number; misses: number };
  dispose(): void;
}

export interface StepBatchOptions {
  /** Run blocks [0, fromBlock) outside the tape; 0 = no prefix (everything on the tape). */
  fromBlock: number;
  /** Byte cap of the cached prefix activations; 0 disables the cache. */
  cacheBytes: number;
}

/** Bytes of the cached activations for `n` samples: x [n, L, H] and bias [n, 1, 1, L], fp32. */
export function prefixCacheBytes(model: VqaModel, n: number): number {
  const c = model.config;
  const L = sequenceLength(c);
  return n * (L * c.hidden + L) * 4;
}

/**
 * Rows of an encoded batch by index, gathered on the host from one read of it: the same values
 * as sliceBatch (tf.gather), whose wasm kernel takes ~0.3 ms per tensor for a step's 16 images
 * (~5 % of a `tiny` step); a host copy of 16 rows and its upload take tens of microseconds.
 */
function hostRows(all: VqaBatch): (indices: readonly number[]) => VqaBatch {
  const parts = [all.images, all.tokens, all.mask, all.labels].map((t) => ({
    data: t.dataSync(),
    shape: t.shape,
    dtype: t.dtype,
    row: t.shape.slice(1).reduce((a, b) => a * b, 1),
  }));
  return (indices) => {
    const [images, tokens, mask, labels] = parts.map((p) => {
      const out =
        p.dtype === 'int32'
          ? new Int32Array(indices.length * p.row)
          : new Float32Array(indices.length * p.row);
      indices.forEach((i, r) => out.set(p.data.subarray(i * p.row, (i + 1) * p.row), r * p.row));
      return tf.tensor(out, [indices.length, ...p.shape.slice(1)], p.dtype);
    });
    return {
      images: images as tf.Tensor4D,
      tokens: tokens as tf.Tensor2D,
      mask: mask as tf.Tensor2D,
      labels: labels as tf.Tensor1D,
    };
  };
}

/** Per-step source over `all` (the encoded samples; not owned, the caller disposes it). */
export function stepBatchSource(
  model: VqaModel,
  all: VqaBatch,
  o: StepBatchOptions,
): StepBatchSource {
  const n = all.labels.shape[0];
  // On the GPU backends the gather stays on the device (a host copy would need a readback).
  const rowsOf = ['wasm', 'cpu'].includes(tf.getBackend())
    ? hostRows(all)
    : (indices: readonly number[]) => sliceBatch(all, indices);
  const perSample = prefixCacheBytes(model, 1);
  const slots = Math.min(n, Math.floor(Math.max(0, o.cacheBytes) / perSample));
  if (o.fromBlock === 0) return perStep(model, rowsOf, 0);
  if (slots === 0) return perStep(model, rowsOf, o.fromBlock);

  const c = model.config;
  const L = sequenceLength(c);
  const X = L * c.hidden;
  const xs = new Map<number, Float32Array>();
  const biases = new Map<number, Float32Array>();
  const stats = { hits: 0, misses: 0 };
  return {
    cached: true,
    get cacheBytes() {
      return xs.size * perSample;
    },
    stats,
    take(indices) {
      const miss = indices.filter((i) => !xs.has(i));
      stats.misses += miss.length;
      stats.hits += indices.length - miss.length;
      // Rows computed for this step only (no slot left in the cache).
      const spareX = new Map<number, Float32Array>();
      const spareB = new Map<number, Float32Array>();
      if (miss.length) {
        const part = rowsOf(miss);
        try {
          const { state } = model.forwardPrefix(part, o.fromBlock);
          const x = state.x.dataSync() as Float32Array;
          const b = state.bias.dataSync() as Float32Array;
          tf.dispose([state.x, state.bias]);
          miss.forEach((i, j) => {
            const keep = xs.size < slots;
            (keep ? xs : spareX).set(i, x.slice(j * X, (j + 1) * X));
            (keep ? biases : spareB).set(i, b.slice(j * L, (j + 1) * L));
          });
        } finally {
          disposeBatch(part);
        }
      }
      const k = indices.length;
      const x = new Float32Array(k * X);
      const bias = new Float32Array(k * L);
      indices.forEach((i, r) => {
        x.set(xs.get(i) ?? spareX.get(i)!, r * X);
        bias.set(biases.get(i) ?? spareB.get(i)!, r * L);
      });
      // The batch's own rows too (a few KB), so that a StepBatch is always self-consistent.
      const batch = rowsOf(indices);
      const state = {
        x: tf.tensor3d(x, [k, L, c.hidden]),
        bias: tf.tensor4d(bias, [k, 1, 1, L]),
      };
      return {
        batch,
        prefix: { fromBlock: o.fromBlock, state },
        dispose: () => {
          disposeBatch(batch);
          tf.dispose([state.x, state.bias]);
        },
      };
    },
    dispose: () => {
      xs.clear();
      biases.clear();
    },
  };
}

/** No cache: slice the encoded samples and (optionally) run the prefix every step. */
function perStep(
  model: VqaModel,
  rowsOf: (indices: readonly number[]) => VqaBatch,
  fromBlock: number,
): StepBatchSource {
  const stats = { hits: 0, misses: 0 };
  return {
    cached: false,
    cacheBytes: 0,
    stats,
    take(indices) {
      if (fromBlock > 0) stats.misses += indices.length;
      const batch = rowsOf(indices);
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

/** The steps' minibatches of one trainLayers call, from an array or a streaming source. */
export interface StepBatches {
  /**
   * The step's minibatch at `indices` with its samples (`rows`, for per-sample rules such as
   * the answer mask); `next` (the following step's indices) is read ahead.
   */
  take(
    indices: readonly number[],
    next: readonly number[],
  ): Promise<StepBatch & { rows: readonly SampleLike[] }>;
  /** Whether prefix activations are cached for the call (else: computed every step). */
  readonly cached: boolean;
  dispose(): void;
}

/**
 * In-memory samples are encoded once and served by `stepBatchSource` (with the frozen-prefix
 * cache). A SampleSource (a site's IndexedDB import) is read and encoded batch by batch with
 * the next batch read ahead (./batches.ts), and its prefix is run every step: holding the
 * whole import's encoding or prefix activations would defeat the bounded memory it exists for.
 */
export function openStepBatches(
  model: VqaModel,
  samples: readonly SampleLike[] | SampleSource<SampleLike>,
  o: StepBatchOptions,
): StepBatches {
  const ctx = { config: model.config, answers: model.answers };
  if (!isSampleSource(samples)) {
    const all = encodeBatch(samples, ctx);
    let source: StepBatchSource;
    try {
      source = stepBatchSource(model, all, o);
    } catch (e) {
      disposeBatch(all);
      throw e;
    }
    return {
      cached: source.cached,
      take: async (indices) => ({ ...source.take(indices), rows: indices.map((i) => samples[i]) }),
      dispose: () => {
        source.dispose();
        disposeBatch(all);
      },
    };
  }
  const reader = batchReader(samples, ctx);
  return {
    cached: false,
    async take(indices, next) {
      const { batch, rows } = await reader.get(indices);
      reader.prefetch(next);
      let prefix: Prefix | undefined;
      try {
        prefix = o.fromBlock > 0 ? model.forwardPrefix(batch, o.fromBlock) : undefined;
      } catch (e) {
        disposeBatch(batch);
        throw e;
      }
      return {
        batch,
        rows,
        prefix,
        dispose: () => {
          disposeBatch(batch);
          if (prefix) tf.dispose([prefix.state.x, prefix.state.bias]);
        },
      };
    },
    dispose: () => reader.dispose(),
  };
}
