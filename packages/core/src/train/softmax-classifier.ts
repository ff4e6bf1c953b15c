// A softmax classifier on fixed feature vectors, minibatch-trained: logistic regression or an
// MLP with one ReLU layer. It measures how separable a labelled image set is when the features
// are raw pixels and the classifier is far stronger than the linear probe of a base's pooled
// features (train/probe.ts): the ceiling the probe is judged against (bench/diagnostics/
// probe-ceiling.ts). Features are standardised with the training set's mean and deviation.
import * as tf from '@tensorflow/tfjs';
import { mulberry32, shuffleInPlace } from '../random.js';

export interface SoftmaxClassifierOptions {
  /** Width of the one hidden ReLU layer; 0 = logistic regression (default 0). */
  hidden?: number;
  /** Passes over the training set (default 20). */
  epochs?: number;
  /** Minibatch size (default 128). */
  batchSize?: number;
  /** Adam learning rate (default 1e-3). */
  lr?: number;
  /** L2 penalty on the weight matrices (default 1e-5). */
  l2?: number;
  /** Seeds the weights and the minibatch order (default 1). */
  seed?: number;
}

export interface SoftmaxClassifier {
  /** Predicted class of every row of `x` [m * dim]. */
  predict(x: Float32Array): number[];
  trainAccuracy: number;
  /** Releases the weights and the standardisation. */
  dispose(): void;
}

/** Trains on `x` [n * dim] with labels `y` in [0, classes); deterministic for a seed. */
export function fitSoftmaxClassifier(
  x: Float32Array,
  y: readonly number[],
  dim: number,
  opts: SoftmaxClassifierOptions = {},
): SoftmaxClassifier {
  const n = y.length;
  if (n === 0) throw new Error('fitSoftmaxClassifier: the training set is empty');
  if (!Number.isInteger(dim) || dim < 1 || x.length !== n * dim)
    throw new Error(
      `fitSoftmaxClassifier: ${x.length} feature values do not make ${n} rows of ${dim}`,
    );
  for (const v of y)
    if (!Number.isInteger(v) || v < 0) throw new Error(`fitSoftmaxClassifier: bad label ${v}`);
  const classes = Math.max(...y) + 1;
  const hidden = opts.hidden ?? 0;
  const epochs = opts.epochs ?? 20;
  const batchSize = opts.batchSize ?? 128;
  const l2 = opts.l2 ?? 1e-5;
  const seed = opts.seed ?? 1;
  if (!Number.isInteger(hidden) || hidden < 0)
    throw new Error(`fitSoftmaxClassifier: hidden must be a non-negative integer, got ${hidden}`);

  const [mean, sd] = tf.tidy(() => {
    const m = tf.moments(tf.tensor2d(x, [n, dim]), 0);
    return [m.mean, m.variance.sqrt().add(1e-3)];
  });
  const widths = hidden > 0 ? [dim, hidden, classes] : [dim, classes];
  const weights: tf.Variable[] = [];
  const biases: tf.Variable[] = [];
  for (let l = 0; l + 1 < widths.length; l++) {
    // He init for the hidden layer; the output layer starts small.
    const std = Math.sqrt(2 / widths[l]) * (l + 2 === widths.length ? 0.1 : 1);
    const w0 = tf.randomNormal([widths[l], widths[l + 1]], 0, std, 'float32', seed + l);
    const b0 = tf.zeros([widths[l + 1]]);
    weights.push(tf.variable(w0));
    biases.push(tf.variable(b0));
    tf.dispose([w0, b0]); // the variables hold their own copies
  }
  const logits = (rows: tf.Tensor2D): tf.Tensor2D =>
    tf.tidy(() => {
      let h = rows.sub(mean).div(sd) as tf.Tensor2D;
      weights.forEach((w, l) => {
        h = h.matMul(w as tf.Tensor2D).add(biases[l]);
        if (l + 1 < weights.length) h = h.relu();
      });
      return h;
    });

  const opt = tf.train.adam(opts.lr ?? 1e-3);
  const rand = mulberry32(seed);
  const order = Array.from({ length: n }, (_, i) => i);
  for (let e = 0; e < epochs; e++) {
    shuffleInPlace(order, rand);
    for (let i = 0; i < n; i += batchSize) {
      const idx = order.slice(i, i + batchSize);
      const rows = new Float32Array(idx.length * dim);
      idx.forEach((r, j) => rows.set(x.subarray(r * dim, (r + 1) * dim), j * dim));
      const xb = tf.tensor2d(rows, [idx.length, dim]);
      const yb = tf.tidy(() =>
        tf.oneHot(
          tf.tensor1d(
            idx.map((r) => y[r]),
            'int32',
          ),
          classes,
        ),
      );
      opt.minimize(
        () =>
          tf.tidy(() =>
            tf.losses
              .softmaxCrossEntropy(yb, logits(xb))
              .add(tf.addN(weights.map((w) => w.square().sum())).mul(l2)),
          ) as tf.Scalar,
        false,
      );
      tf.dispose([xb, yb]);
    }
  }
  opt.dispose();

  const predict = (rows: Float32Array): number[] => {
    if (rows.length % dim !== 0)
      throw new Error(`predict: ${rows.length} values are not rows of ${dim}`);
    const m = rows.length / dim;
    const out: number[] = [];
    for (let i = 0; i < m; i += 1024) {
      const k = Math.min(1024, m - i);
      const am = tf.tidy(() =>
        logits(tf.tensor2d(rows.subarray(i * dim, (i + k) * dim), [k, dim])).argMax(1),
      );
      out.push(...Array.from(am.dataSync()));
      am.dispose();
    }
    return out;
  };
  const p = predict(x);
  return {
    predict,
    trainAccuracy: y.filter((v, i) => p[i] === v).length / n,
    dispose: () => tf.dispose([mean, sd, ...weights, ...biases]),
  };
}
