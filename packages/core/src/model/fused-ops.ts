// Differentiable ops over the fused wasm kernels (wasm-kernels.ts, wasm-fused.ts): LayerNorm
// and GELU as tf.customGrad functions whose forward and backward are one kernel each, and the
// AdamW update of many tensors in one kernel. Callers use them only while
// fusedKernelsActive() (the wasm backend with SIMD); every other backend keeps the tfjs
// compositions of forward.ts and train/adamw.ts, which compute the same functions.
import * as tf from '@tensorflow/tfjs';
import { FUSED, type AdamWScalars, type HeadForm } from './wasm-kernels.js';

export { fusedKernelsActive } from './wasm-kernels.js';

const run = (name: string, inputs: tf.NamedTensorMap, attrs: tf.NamedAttrMap = {}) =>
  tf.engine().runKernel(name, inputs, attrs) as tf.Tensor | tf.Tensor[];

/** Whether fusedLayerNorm takes x: float32 with a last axis of a multiple of 4. */
export function fusedLayerNormFits(x: tf.Tensor): boolean {
  const h = x.shape[x.shape.length - 1];
  return x.dtype === 'float32' && x.rank >= 1 && h > 0 && h % 4 === 0;
}

type LayerNormOp = (x: tf.Tensor, gamma: tf.Tensor, beta: tf.Tensor) => tf.Tensor;
const layerNormOps = new Map<number, LayerNormOp>();

/** LayerNorm over the last axis (forward.ts's layerNorm) in one kernel each way. */
export function fusedLayerNorm(
  x: tf.Tensor,
  gamma: tf.Tensor,
  beta: tf.Tensor,
  eps: number,
): tf.Tensor {
  let op = layerNormOps.get(eps);
  if (!op) {
    op = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
      const [xt, g, b] = args as tf.Tensor[];
      const save = args[3] as tf.GradSaveFunc;
      const [y, xhat, rstd] = run(FUSED.layerNorm, { x: xt, gamma: g, beta: b }, { eps }) as [
        tf.Tensor,
        tf.Tensor,
        tf.Tensor,
      ];
      save([xhat, rstd, g]);
      return {
        value: y,
        gradFunc: (dy: tf.Tensor, [xh, rs, gm]: tf.Tensor[]) =>
          run(FUSED.layerNormGrad, { dy, xhat: xh, rstd: rs, gamma: gm }) as tf.Tensor[],
      };
    }) as LayerNormOp;
    layerNormOps.set(eps, op);
  }
  return op(x, gamma, beta);
}

/**
 * Exact GELU, x / 2 (1 + erf(x / sqrt 2)), in one kernel each way; the forward kernel also
 * returns (1 + erf) / 2, which the gradient reuses.
 */
export const fusedGelu = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
  const x = args[0] as tf.Tensor;
  const save = args[1] as tf.GradSaveFunc;
  const [y, phi] = run(FUSED.gelu, { x }) as [tf.Tensor, tf.Tensor];
  save([x, phi]);
  return {
    value: y,
    gradFunc: (dy: tf.Tensor, [xs, ph]: tf.Tensor[]) =>
      run(FUSED.geluGrad, { x: xs, phi: ph, dy }) as tf.Tensor,
  };
}) as (x: tf.Tensor) => tf.Tensor;

/**
 * x [..., in] @ kernel [in, out] (+ bias [out]) (+ each residual, of the output's shape, in
 * order; at most two) as one kernel each way (wasm-kernels.ts's FocusDense); float32 only.
 */
export function fusedDense(
  x: tf.Tensor,
  kernel: tf.Tensor,
  bias?: tf.Tensor,
  residuals: readonly tf.Tensor[] = [],
): tf.Tensor {
  if (kernel.rank !== 2 || x.shape[x.rank - 1] !== kernel.shape[0])
    throw new Error(`fusedDense: x [${x.shape}] does not match kernel [${kernel.shape}]`);
  if (bias && (bias.rank !== 1 || bias.shape[0] !== kernel.shape[1]))
    throw new Error(`fusedDense: bias [${bias.shape}] does not match kernel [${kernel.shape}]`);
  const outShape = [...x.shape.slice(0, -1), kernel.shape[1] as number];
  if (residuals.length > 2)
    throw new Error(`fusedDense: at most 2 residuals, got ${residuals.length}`);
  residuals.forEach((r, i) => {
    if (r.dtype !== 'float32' || !tf.util.arraysEqual(r.shape, outShape))
      throw new Error(`fusedDense: residual ${i} [${r.shape}] must be float32 [${outShape}]`);
  });
  const inputs: tf.NamedTensorMap = { x, w: kernel };
  if (bias) inputs.b = bias;
  residuals.forEach((r, i) => (inputs[`r${i}`] = r));
  return run(FUSED.dense, inputs) as tf.Tensor;
}

/** Whether fusedScaledSoftmax takes these: float32 scores [b, h, q, n], bias [b, 1, 1, n]. */
export function fusedSoftmaxFits(s: tf.Tensor, bias: tf.Tensor): boolean {
  return (
    s.dtype === 'float32' &&
    bias.dtype === 'float32' &&
    s.rank === 4 &&
    bias.rank === 4 &&
    bias.shape[0] === s.shape[0] &&
    bias.shape[1] === 1 &&
    bias.shape[2] === 1 &&
    bias.shape[3] === s.shape[3]
  );
}

/** softmax(s scale + bias) over the last axis (attention), one kernel each way. */
export function fusedScaledSoftmax(s: tf.Tensor, bias: tf.Tensor, scale: number): tf.Tensor {
  if (!fusedSoftmaxFits(s, bias))
    throw new Error(
      `fusedScaledSoftmax: scores [${s.shape}] and bias [${bias.shape}] must be [b, h, q, n] and [b, 1, 1, n]`,
    );
  return run(FUSED.softmax, { s, bias }, { scale }) as tf.Tensor;
}

/** Whether fusedHeadMatMul takes x as the heads operand: float32 [n, L, H], H a multiple of heads. */
export function fusedHeadsFit(x: tf.Tensor, heads: number): boolean {
  return x.dtype === 'float32' && x.rank === 3 && heads > 0 && x.shape[2]! % heads === 0;
}

/**
 * Attention's per-head products on [n, L, H] tensors without head transposes (wasm-kernels.ts
 * FocusHeadMatMul): 'abT' Q K^T -> scores [n, heads, L, L]; 'ab' P V -> [n, L, H] with each
 * head's context in its columns; 'aTb' S^T B. One kernel each way.
 */
export function fusedHeadMatMul(
  a: tf.Tensor,
  b: tf.Tensor,
  heads: number,
  form: HeadForm,
): tf.Tensor {
  const [n, L, H] = b.shape;
  const sameHeads = (t: tf.Tensor) =>
    fusedHeadsFit(t, heads) && t.shape[0] === n && t.shape[1] === L && t.shape[2] === H;
  const scoresFit = (t: tf.Tensor) =>
    t.dtype === 'float32' && t.rank === 4 && [n, heads, L, L].every((v, i) => t.shape[i] === v);
  if (!(sameHeads(b) && (form === 'abT' ? sameHeads(a) : scoresFit(a)))) {
    const want = form === 'abT' ? '[n, L, H] and [n, L, H]' : `[n, ${heads}, L, L] and [n, L, H]`;
    throw new Error(
      `fusedHeadMatMul '${form}': operands [${a.shape}] and [${b.shape}] must be float32 ${want} with H a multiple of ${heads}`,
    );
  }
  return run(FUSED.headMatMul, { a, b }, { heads, form }) as tf.Tensor;
}

/** One AdamW update's tensors: parameter, moments and gradient (all of one shape). */
export interface AdamWSlot {
  p: tf.Tensor;
  m: tf.Tensor;
  v: tf.Tensor;
  g: tf.Tensor;
}

/** The updated p, m, v of every slot (train/adamw.ts's update), from one kernel call. */
export function fusedAdamW(
  slots: readonly AdamWSlot[],
  scalars: AdamWScalars,
): { p: tf.Tensor; m: tf.Tensor; v: tf.Tensor }[] {
  if (slots.length === 0) return [];
  const inputs: tf.NamedTensorMap = {};
  slots.forEach((s, i) => {
    for (const key of ['p', 'm', 'v', 'g'] as const) {
      const t = s[key];
      if (t.dtype !== 'float32' || !tf.util.arraysEqual(t.shape, s.p.shape))
        throw new Error(
          `fusedAdamW: ${key} of slot ${i} must be float32 of shape [${s.p.shape}], got ${t.dtype} [${t.shape}]`,
        );
      inputs[`${key}${i}`] = t;
    }
  });
  const out = run(FUSED.adamw, inputs, { ...scalars }) as tf.Tensor[];
  return slots.map((_, i) => ({ p: out[3 * i], m: out[3 * i + 1], v: out[3 * i + 2] }));
}
