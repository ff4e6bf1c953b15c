import * as tf from '@tensorflow/tfjs';
import type { VqaBatch } from '../model/forward.js';
import type { ApplyOptions, VqaModel } from '../model/vqa-model.js';
import { crossEntropy } from './loss.js';

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
  } = {},
): { loss: tf.Scalar; grads: Record<string, tf.Tensor> } {
  const { value, grads } = tf.valueAndGrads((...xs: tf.Tensor[]) => {
    const over: Record<string, tf.Tensor> = {};
    names.forEach((n, i) => (over[n] = xs[i]));
    const logits = model.apply(over, batch, opts);
    return crossEntropy(opts.logitBias ? logits.add(opts.logitBias) : logits, batch.labels);
  })(names.map((n) => values[n] ?? model.tensor(n)));
  const named: Record<string, tf.Tensor> = {};
  names.forEach((n, i) => (named[n] = grads[i]));
  return { loss: value as tf.Scalar, grads: named };
}
