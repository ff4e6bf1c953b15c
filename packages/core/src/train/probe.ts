// Linear probe of a frozen base: how much a base's pooled features already tell images apart,
// with no adapter and no fine-tuning. Features are the model's pooled output (final LN ->
// first token -> tanh pooler, forward.ts `pool`) for one fixed neutral question; the probe is
// multinomial logistic regression (standardised features, L2, Adam, full batch).
import * as tf from '@tensorflow/tfjs';
import { disposeBatch, encodeBatch, type SampleLike } from '../model/batch.js';
import { pool } from '../model/forward.js';
import type { VqaModel } from '../model/vqa-model.js';

/** The question every probed image is paired with (it names no class and no modality). */
export const PROBE_QUESTION = 'what is shown in the image?';

/** Pooled features [n * hidden] of `samples`, each paired with `question`. */
export function pooledFeatures(
  model: VqaModel,
  samples: readonly SampleLike[],
  opts: { question?: string; batchSize?: number } = {},
): Float32Array {
  if (samples.length === 0) throw new Error('pooledFeatures: samples is empty');
  const H = model.config.hidden;
  const bs = opts.batchSize ?? 64;
  const out = new Float32Array(samples.length * H);
  for (let i = 0; i < samples.length; i += bs) {
    const chunk = samples
      .slice(i, i + bs)
      .map((s) => ({ ...s, question: opts.question ?? PROBE_QUESTION }));
    const batch = encodeBatch(chunk, {
      config: model.config,
      answers: model.answers,
      allowUnknownAnswers: true,
    });
    const prefix = model.forwardPrefix(batch, model.config.numLayers);
    const f = tf.tidy(() => pool(model.config, model.lookup(), prefix.state.x));
    out.set(f.dataSync(), i * H);
    tf.dispose([f, prefix.state.x, prefix.state.bias]);
    disposeBatch(batch);
  }
  return out;
}

export interface ProbeOptions {
  /** Optimisation steps (default 300). */
  steps?: number;
  /** Adam learning rate (default 0.05). */
  lr?: number;
  /** L2 penalty on the weights (default 1e-3). */
  l2?: number;
}

export interface ProbeResult {
  trainAccuracy: number;
  testAccuracy: number;
  classes: number;
  /** Predicted class of every test row. */
  testPredictions: number[];
}

/**
 * Logistic regression on `trainX` [nTrain, d] -> labels in [0, classes), scored on `testX`.
 * Features are standardised with the training set's mean and deviation. Deterministic (zero
 * initialisation, full-batch steps).
 */
export function linearProbe(
  trainX: Float32Array,
  trainY: readonly number[],
  testX: Float32Array,
  testY: readonly number[],
  opts: ProbeOptions = {},
): ProbeResult {
  const n = trainY.length;
  const m = testY.length;
  if (n === 0 || m === 0) throw new Error('linearProbe: train and test sets must be non-empty');
  if (trainX.length % n !== 0 || testX.length !== (trainX.length / n) * m)
    throw new Error(
      `linearProbe: feature arrays do not match the label counts (${trainX.length} / ${n}, ${testX.length} / ${m})`,
    );
  const d = trainX.length / n;
  const classes = Math.max(...trainY, ...testY) + 1;
  for (const y of [...trainY, ...testY])
    if (!Number.isInteger(y) || y < 0) throw new Error(`linearProbe: bad label ${y}`);
  const steps = opts.steps ?? 300;
  const l2 = opts.l2 ?? 1e-3;
  return tf.tidy(() => {
    const xtr = tf.tensor2d(trainX, [n, d]);
    const { mean, variance } = tf.moments(xtr, 0);
    const sd = variance.sqrt().add(1e-6);
    const norm = (x: tf.Tensor2D) => x.sub(mean).div(sd) as tf.Tensor2D;
    const a = norm(xtr);
    const b = norm(tf.tensor2d(testX, [m, d]));
    const yoh = tf.oneHot(tf.tensor1d(Array.from(trainY), 'int32'), classes);
    const w = tf.variable(tf.zeros([d, classes]));
    const bias = tf.variable(tf.zeros([classes]));
    const opt = tf.train.adam(opts.lr ?? 0.05);
    for (let s = 0; s < steps; s++) {
      opt.minimize(() => {
        const logits = a.matMul(w).add(bias);
        const ce = tf.losses.softmaxCrossEntropy(yoh, logits);
        return ce.add(w.square().sum().mul(l2)) as tf.Scalar;
      });
    }
    const predict = (x: tf.Tensor2D) => Array.from(x.matMul(w).add(bias).argMax(1).dataSync());
    const acc = (pred: number[], y: readonly number[]) =>
      y.filter((v, i) => pred[i] === v).length / y.length;
    const testPredictions = predict(b);
    const result = {
      trainAccuracy: acc(predict(a), trainY),
      testAccuracy: acc(testPredictions, testY),
      classes,
      testPredictions,
    };
    opt.dispose();
    w.dispose();
    bias.dispose();
    return result;
  });
}
