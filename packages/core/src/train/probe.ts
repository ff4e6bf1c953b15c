// Linear probe of a frozen base: how much a base's features already tell images apart, with no
// adapter and no fine-tuning. Every image is paired with one fixed neutral question. Two kinds
// of features (packages/core/src/model/README.md, "The probe's features"):
//  - `pooledFeatures`: the model's pooled output (final LN -> first token -> tanh pooler,
//    forward.ts `pool`), what the answer head reads: a summary of what a *question* asks;
//  - `imageTokenFeatures`: the mean of the image-patch tokens after the last block, or after
//    every block concatenated, the image's own content (MAE's linear probe averages the patch
//    tokens; DINO's concatenates several blocks' outputs).
// The probe is multinomial logistic regression (standardised features, L2, Adam, full batch);
// `tunedLinearProbe` picks the L2 penalty by cross-validation on the training set alone.
import * as tf from '@tensorflow/tfjs';
import { disposeBatch, encodeBatch, type SampleLike } from '../model/batch.js';
import { pool, runBlocks, type VqaBatch } from '../model/forward.js';
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
  const out = new Float32Array(samples.length * H);
  forEachProbeBatch(model, samples, opts, (batch, i) => {
    const prefix = model.forwardPrefix(batch, model.config.numLayers);
    const f = tf.tidy(() => pool(model.config, model.lookup(), prefix.state.x));
    out.set(f.dataSync(), i * H);
    tf.dispose([f, prefix.state.x, prefix.state.bias]);
  });
  return out;
}

/**
 * Calls `fn` with each chunk of `samples` (at most `batchSize`, default 64), every sample
 * paired with `question` (default PROBE_QUESTION) and encoded, and the chunk's first index;
 * disposes the batch after.
 */
function forEachProbeBatch(
  model: VqaModel,
  samples: readonly SampleLike[],
  opts: { question?: string; batchSize?: number },
  fn: (batch: VqaBatch, first: number, size: number) => void,
): void {
  const bs = opts.batchSize ?? 64;
  for (let i = 0; i < samples.length; i += bs) {
    const chunk = samples
      .slice(i, i + bs)
      .map((s) => ({ ...s, question: opts.question ?? PROBE_QUESTION }));
    const batch = encodeBatch(chunk, {
      config: model.config,
      answers: model.answers,
      allowUnknownAnswers: true,
    });
    try {
      fn(batch, i, chunk.length);
    } finally {
      disposeBatch(batch);
    }
  }
}

/**
 * Mean of the image-patch tokens (the sequence is [text | image CLS | patches]) of `samples`,
 * each paired with `question`: after the last block ([n * hidden]) or, with `blocks: 'all'`,
 * after every block, concatenated in block order ([n * numLayers * hidden]).
 */
export function imageTokenFeatures(
  model: VqaModel,
  samples: readonly SampleLike[],
  opts: { blocks?: 'last' | 'all'; question?: string; batchSize?: number } = {},
): Float32Array {
  if (samples.length === 0) throw new Error('imageTokenFeatures: samples is empty');
  const { hidden: H, numLayers: L, maxTextLen: T } = model.config;
  const all = (opts.blocks ?? 'last') === 'all';
  const width = all ? L * H : H;
  const out = new Float32Array(samples.length * width);
  const p = model.lookup();
  forEachProbeBatch(model, samples, opts, (batch, i, n) => {
    let state = model.forwardPrefix(batch, 0).state;
    const feats = new Float32Array(n * width);
    for (let l = 0; l < L; l++) {
      const prev = state;
      state = tf.tidy(() => {
        const st = runBlocks(model.config, p, prev, l, l + 1);
        return { x: st.x, bias: st.bias };
      }) as typeof state;
      prev.x.dispose();
      if (prev.bias !== state.bias) prev.bias.dispose();
      if (!all && l < L - 1) continue;
      const patches = state.x.shape[1] - T - 1;
      const m = tf.tidy(() => state.x.slice([0, T + 1, 0], [n, patches, H]).mean(1));
      const v = m.dataSync();
      m.dispose();
      const at = all ? l * H : 0;
      for (let r = 0; r < n; r++) feats.set(v.subarray(r * H, (r + 1) * H), r * width + at);
    }
    out.set(feats, i * width);
    tf.dispose([state.x, state.bias]);
  });
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

export interface TunedProbeOptions extends Omit<ProbeOptions, 'l2'> {
  /** L2 penalties tried (default 1e-4 ... 1e-1 in steps of about 3x). */
  l2Grid?: readonly number[];
  /** Cross-validation folds of the training set (default 4). */
  folds?: number;
}

export interface TunedProbeResult extends ProbeResult {
  /** The penalty chosen: the best mean validation accuracy over the folds (ties: the larger). */
  l2: number;
  /** Mean validation accuracy of every penalty tried. */
  validation: { l2: number; accuracy: number }[];
}

/**
 * `linearProbe` with its L2 penalty chosen by k-fold cross-validation on the training set alone
 * (folds stratified by label: the i-th image of a label goes to fold i mod k), then refitted on
 * the whole training set and scored once on the test set, which plays no part in the choice.
 */
export function tunedLinearProbe(
  trainX: Float32Array,
  trainY: readonly number[],
  testX: Float32Array,
  testY: readonly number[],
  opts: TunedProbeOptions = {},
): TunedProbeResult {
  const grid = [...(opts.l2Grid ?? [1e-4, 3e-4, 1e-3, 3e-3, 1e-2, 3e-2, 1e-1])].sort(
    (a, b) => a - b,
  );
  const k = opts.folds ?? 4;
  const n = trainY.length;
  if (grid.length === 0) throw new Error('tunedLinearProbe: l2Grid is empty');
  if (!Number.isInteger(k) || k < 2 || k > n)
    throw new Error(`tunedLinearProbe: folds must be an integer in [2, ${n}], got ${k}`);
  if (n === 0 || trainX.length % n !== 0)
    throw new Error(`tunedLinearProbe: ${trainX.length} feature values for ${n} labels`);
  const d = trainX.length / n;
  const seen = new Map<number, number>();
  const fold = trainY.map((y) => {
    const i = seen.get(y) ?? 0;
    seen.set(y, i + 1);
    return i % k;
  });
  const rows = (idx: number[]) => {
    const x = new Float32Array(idx.length * d);
    idx.forEach((r, j) => x.set(trainX.subarray(r * d, (r + 1) * d), j * d));
    return { x, y: idx.map((r) => trainY[r]) };
  };
  const validation = grid.map((l2) => {
    let right = 0;
    for (let f = 0; f < k; f++) {
      const fit = rows(fold.flatMap((g, r) => (g === f ? [] : [r])));
      const val = rows(fold.flatMap((g, r) => (g === f ? [r] : [])));
      const r = linearProbe(fit.x, fit.y, val.x, val.y, { ...opts, l2 });
      right += r.testAccuracy * val.y.length;
    }
    return { l2, accuracy: right / n };
  });
  const best = validation.reduce((a, b) => (b.accuracy >= a.accuracy ? b : a));
  return {
    ...linearProbe(trainX, trainY, testX, testY, { ...opts, l2: best.l2 }),
    l2: best.l2,
    validation,
  };
}
