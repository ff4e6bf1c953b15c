import * as tf from '@tensorflow/tfjs';
import type { DenseTap } from '../model/forward.js';

/**
 * What the importance scorers need from a model, and nothing more: named trainable layers,
 * their current parameter values, and a differentiable forward pass over a fixed sample set.
 * The real VQA model is adapted to it in ./vqa.ts; tests build small ones by hand.
 */
export interface Differentiable {
  /** Scored layers, in forward order (e.g. `block0.adapter` ... `block{L-1}.adapter`). */
  readonly layers: readonly string[];
  /** Parameter names (`<layer>/<param>`) of one layer, in a fixed order. */
  paramsOf(layer: string): readonly string[];
  /** Current values of every parameter named by paramsOf. Scorers never dispose them. */
  readonly params: Readonly<Record<string, tf.Tensor>>;
  /** Number of samples the model was bound to (indices 0..numSamples-1). */
  readonly numSamples: number;
  /** True class of each sample (the answer index); used by loss-based scorers. */
  readonly labels: readonly number[];
  /**
   * Logits `[indices.length, numClasses]` of the given samples, with `params` used in place of
   * the current trainable values (missing names fall back to `this.params`).
   */
  output(params: Record<string, tf.Tensor>, indices: readonly number[]): tf.Tensor2D;
  /**
   * Logits for the data-free all-ones input (Synflow). Optional: models without it cannot be
   * scored by Synflow.
   */
  onesOutput?(params: Record<string, tf.Tensor>): tf.Tensor2D;
  /**
   * Optional: the same logits as `output`, from one batched forward pass that calls `tap` on
   * every dense op y = x W + b whose output it can expose (./lntk.ts uses it to get per-sample
   * gradients of W and b from one backward pass). Samples must not interact in the forward.
   */
  tappedOutput?(
    params: Record<string, tf.Tensor>,
    indices: readonly number[],
    tap: DenseTap,
  ): tf.Tensor2D;
}

/** Every parameter name of the given layers, in layer order. */
export function paramNamesOf(model: Differentiable, layers = model.layers): string[] {
  const names: string[] = [];
  for (const l of layers) {
    const ps = model.paramsOf(l);
    if (ps.length === 0) throw new Error(`layer "${l}" has no parameters`);
    for (const p of ps) {
      if (!model.params[p]) throw new Error(`parameter "${p}" of layer "${l}" has no value`);
      names.push(p);
    }
  }
  return names;
}

/**
 * Gradient of a scalar function of the named parameters, returned as flat float32 arrays per
 * name. One backward pass serves every layer at once (docs/method.md §1). Tensors are disposed.
 */
export function gradArrays(
  fn: (p: Record<string, tf.Tensor>) => tf.Scalar,
  values: Readonly<Record<string, tf.Tensor>>,
  names: readonly string[],
): Record<string, Float32Array> {
  const xs = names.map((n) => values[n]);
  const gs = tf.tidy(() =>
    tf.grads((...args: tf.Tensor[]) => {
      const p: Record<string, tf.Tensor> = {};
      names.forEach((n, i) => (p[n] = args[i]));
      return fn(p);
    })(xs),
  );
  const out: Record<string, Float32Array> = {};
  names.forEach((n, i) => {
    out[n] = gs[i].dataSync() as Float32Array;
    gs[i].dispose();
  });
  return out;
}

/** Mean softmax cross-entropy of the given samples against their labels, logits / temperature. */
export function meanLoss(
  model: Differentiable,
  p: Record<string, tf.Tensor>,
  indices: readonly number[],
  temperature = 1,
): tf.Scalar {
  const logits = model.output(p, indices);
  const k = logits.shape[1];
  const labels = indices.map((i) => {
    const y = model.labels[i];
    if (!Number.isInteger(y) || y < 0 || y >= k)
      throw new Error(`label of sample ${i} is ${y}, expected an integer in [0, ${k})`);
    return y;
  });
  const onehot = tf.oneHot(tf.tensor1d(labels, 'int32'), k);
  const scaled = temperature === 1 ? logits : tf.div(logits, temperature);
  return tf.losses.softmaxCrossEntropy(onehot, scaled) as tf.Scalar;
}

export function range(n: number): number[] {
  return Array.from({ length: n }, (_, i) => i);
}

/** Flat float32 copies of the current parameter values. */
export function valueArrays(
  model: Differentiable,
  names: readonly string[],
): Record<string, Float32Array> {
  const out: Record<string, Float32Array> = {};
  for (const n of names) out[n] = (model.params[n].dataSync() as Float32Array).slice();
  return out;
}
