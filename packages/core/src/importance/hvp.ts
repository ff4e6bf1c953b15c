import * as tf from '@tensorflow/tfjs';
import { gradArrays } from './differentiable.js';

/**
 * Hessian-vector product H v of a scalar loss by a central difference of gradients:
 * H v ~ (grad L(theta + eps v) - grad L(theta - eps v)) / (2 eps), error O(eps^2).
 * Why not double backward: tfjs 4.22 cannot differentiate through tf.grads (nested tapes fail
 * with "Cannot compute gradient of y=f(x)"), so exact second order is unavailable.
 * eps is chosen so that the step eps*||v|| is `relStep` (default 1e-3) of max(1, ||theta||):
 * large enough that float32 gradient noise (~1e-7 relative) stays ~1e-4 of the result.
 */
export function hessianVectorProduct(
  loss: (p: Record<string, tf.Tensor>) => tf.Scalar,
  theta: Readonly<Record<string, tf.Tensor>>,
  v: Readonly<Record<string, Float32Array>>,
  names: readonly string[],
  relStep = 1e-3,
): Record<string, Float32Array> {
  let vn = 0;
  let tn = 0;
  for (const n of names) {
    const vd = v[n];
    if (!vd || vd.length !== theta[n].size)
      throw new Error(
        `hvp: vector for "${n}" has ${vd?.length} entries, expected ${theta[n].size}`,
      );
    for (let i = 0; i < vd.length; i++) vn += vd[i] * vd[i];
    const td = theta[n].dataSync();
    for (let i = 0; i < td.length; i++) tn += td[i] * td[i];
  }
  vn = Math.sqrt(vn);
  const out: Record<string, Float32Array> = {};
  if (vn === 0) {
    for (const n of names) out[n] = new Float32Array(theta[n].size);
    return out;
  }
  const eps = (relStep * Math.max(1, Math.sqrt(tn))) / vn;
  const shifted = (sign: number): Record<string, tf.Tensor> => {
    const p: Record<string, tf.Tensor> = {};
    for (const n of names)
      p[n] = tf.tidy(() => tf.add(theta[n], tf.mul(tf.tensor(v[n], theta[n].shape), sign * eps)));
    return p;
  };
  const plus = shifted(1);
  const minus = shifted(-1);
  try {
    const gp = gradArrays(loss, plus, names);
    const gm = gradArrays(loss, minus, names);
    for (const n of names) {
      const a = gp[n];
      const b = gm[n];
      const r = new Float32Array(a.length);
      for (let i = 0; i < a.length; i++) r[i] = (a[i] - b[i]) / (2 * eps);
      out[n] = r;
    }
    return out;
  } finally {
    for (const t of [...Object.values(plus), ...Object.values(minus)]) t.dispose();
  }
}
