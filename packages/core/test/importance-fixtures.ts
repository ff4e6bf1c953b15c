// Small hand-built models for the importance tests: each has a known answer.
import * as tf from '@tensorflow/tfjs';
import type { Differentiable } from '../src/importance/differentiable.js';
import { gaussian, mulberry32 } from '../src/random.js';

export function randn(n: number, seed: number, std = 1): Float32Array {
  const r = mulberry32(seed);
  return Float32Array.from({ length: n }, () => std * gaussian(r));
}

interface Spec {
  layers: string[];
  params: Record<string, tf.Tensor>;
  labels: number[];
  numSamples: number;
  forward: (p: Record<string, tf.Tensor>, x: tf.Tensor2D) => tf.Tensor2D;
  X: tf.Tensor2D;
}

/** A Differentiable over an input matrix X [n, d]; samples are rows of X. */
export function fromForward(spec: Spec): Differentiable & { dispose(): void } {
  const { layers, params, labels, forward, X } = spec;
  const merged = (p: Record<string, tf.Tensor>) => ({ ...params, ...p });
  return {
    layers,
    paramsOf: (l) => Object.keys(params).filter((n) => n.startsWith(`${l}/`)),
    params,
    numSamples: spec.numSamples,
    labels,
    output: (p, idx) => forward(merged(p), tf.gather(X, tf.tensor1d([...idx], 'int32'))),
    onesOutput: (p) => forward(merged(p), tf.ones([1, X.shape[1]])),
    dispose: () => {
      for (const t of Object.values(params)) t.dispose();
      X.dispose();
    },
  };
}

/** z = X W: one linear layer `lin` (no bias). */
export function linearModel(n: number, d: number, K: number, seed: number, labels?: number[]) {
  const X = tf.tensor2d(randn(n * d, seed), [n, d]);
  const params = { 'lin/kernel': tf.tensor2d(randn(d * K, seed + 1), [d, K]) };
  const model = fromForward({
    layers: ['lin'],
    params,
    labels: labels ?? Array.from({ length: n }, (_, i) => i % K),
    numSamples: n,
    forward: (p, x) => tf.matMul(x, p['lin/kernel'] as tf.Tensor2D),
    X,
  });
  return { model, X: X.arraySync() };
}

/**
 * Three parallel branches with identical weights W0 and gains s: z = sum_l s_l X W_l (+ b_l).
 * Every gradient-based score of branch l is then an exact power of s_l (see the tests).
 */
export function branchModel(gains: number[], seed: number, n = 6, d = 4, K = 3) {
  const X = tf.tensor2d(randn(n * d, seed), [n, d]);
  const W0 = randn(d * K, seed + 1, 0.5);
  const layers = gains.map((_, i) => `branch${i}`);
  const params: Record<string, tf.Tensor> = {};
  for (const l of layers) {
    params[`${l}/kernel`] = tf.tensor2d(W0, [d, K]);
    params[`${l}/bias`] = tf.zeros([K]);
  }
  const model = fromForward({
    layers,
    params,
    labels: Array.from({ length: n }, (_, i) => (i * 2) % K),
    numSamples: n,
    forward: (p, x) =>
      tf.addN(
        layers.map((l, i) =>
          tf.mul(tf.add(tf.matMul(x, p[`${l}/kernel`] as tf.Tensor2D), p[`${l}/bias`]), gains[i]),
        ),
      ) as tf.Tensor2D,
    X,
  });
  return model;
}

/** Two-layer tanh MLP: z = tanh(X W1 + b1) W2 + b2, layers `l1`, `l2`. Values in float64 too. */
export function mlpModel(n: number, d: number, h: number, K: number, seed: number) {
  const Xd = randn(n * d, seed);
  const W1 = randn(d * h, seed + 1, 0.7);
  const b1 = randn(h, seed + 2, 0.1);
  const W2 = randn(h * K, seed + 3, 0.7);
  const b2 = randn(K, seed + 4, 0.1);
  const params: Record<string, tf.Tensor> = {
    'l1/kernel': tf.tensor2d(W1, [d, h]),
    'l1/bias': tf.tensor1d(b1),
    'l2/kernel': tf.tensor2d(W2, [h, K]),
    'l2/bias': tf.tensor1d(b2),
  };
  const model = fromForward({
    layers: ['l1', 'l2'],
    params,
    labels: Array.from({ length: n }, (_, i) => (i * 7) % K),
    numSamples: n,
    forward: (p, x) =>
      tf.add(
        tf.matMul(
          tf.tanh(tf.add(tf.matMul(x, p['l1/kernel'] as tf.Tensor2D), p['l1/bias'])),
          p['l2/kernel'] as tf.Tensor2D,
        ),
        p['l2/bias'],
      ) as tf.Tensor2D,
    X: tf.tensor2d(Xd, [n, d]),
  });
  return { model, Xd, W1, b1, W2, b2 };
}

/**
 * A residual adapter under a head: z = (x + relu(x D) U) H. Layers `down` (D) and `up` (U);
 * U zero-initialised like a Pfeiffer adapter; H optionally zero.
 */
export function adapterModel(seed: number, zeroHead = false, n = 5, d = 4, r = 2, K = 3) {
  const X = tf.tensor2d(randn(n * d, seed), [n, d]);
  const H = tf.tensor2d(zeroHead ? new Float32Array(d * K) : randn(d * K, seed + 2), [d, K]);
  const params: Record<string, tf.Tensor> = {
    'down/kernel': tf.tensor2d(randn(d * r, seed + 1, 0.5), [d, r]),
    'up/kernel': tf.zeros([r, d]),
  };
  const model = fromForward({
    layers: ['down', 'up'],
    params,
    labels: Array.from({ length: n }, (_, i) => i % K),
    numSamples: n,
    forward: (p, x) =>
      tf.matMul(
        tf.add(
          x,
          tf.matMul(
            tf.relu(tf.matMul(x, p['down/kernel'] as tf.Tensor2D)),
            p['up/kernel'] as tf.Tensor2D,
          ),
        ),
        H,
      ),
    X,
  });
  const dispose = model.dispose;
  model.dispose = () => {
    dispose();
    H.dispose();
  };
  return model;
}
