// Functional forward pass of the ViLT-style model. Every op reads its weights through a lookup
// `p(name)`, so that tf.grad / LNTK can substitute any named tensor (docs/interfaces.md).
import * as tf from '@tensorflow/tfjs';
import { numPatches, type ModelConfig } from './config.js';
import {
  fusedDense,
  fusedGelu,
  fusedHeadMatMul,
  fusedHeadsFit,
  fusedKernelsActive,
  fusedLayerNorm,
  fusedLayerNormFits,
  fusedScaledSoftmax,
  fusedSoftmaxFits,
} from './fused-ops.js';
import { installMatMulGradient } from './matmul-grad.js';
import { blockName, trainableLayerNames } from './params.js';
import { installWasmKernels } from './wasm-kernels.js';

// Every gradient through the model then runs its 2-D products untransposed on wasm, and the
// tensors it saves for the backward pass are not copied (wasm-kernels.ts). The kernels are
// installed again at each forward pass (a flag check) in case the wasm backend was loaded
// after this module.
installMatMulGradient();
installWasmKernels();

export type ParamLookup = ((name: string) => tf.Tensor) & {
  /** Rows `ids` of a 2-D table; when absent, tf.gather on the whole table (vqa-model.ts
   * gathers int8 tables row by row instead of dequantizing all of them). */
  gather?: (name: string, ids: tf.Tensor1D) => tf.Tensor;
  /** x [m, in] @ the named kernel without materialising it (the fused int8 kernel on
   * webgpu, vqa-model.ts / int8-matmul.ts), or undefined to use tf.matMul(x, p(name)). */
  matMul?: (x: tf.Tensor2D, name: string) => tf.Tensor2D | undefined;
};

/** Encoded inputs (see batch.ts). */
export interface VqaBatch {
  /** [n, S, S, 3] float32 in [-1, 1] (ViLT's mean 0.5 / std 0.5 normalisation). */
  images: tf.Tensor4D;
  /** [n, T] int32 WordPiece ids. */
  tokens: tf.Tensor2D;
  /** [n, T] float32, 1 for real tokens. */
  mask: tf.Tensor2D;
  /** [n] int32 answer indices. */
  labels: tf.Tensor1D;
}

/** Hidden state between blocks: the sequence and its additive attention bias. */
export interface HiddenState {
  /** [n, L, H] */
  x: tf.Tensor3D;
  /** [n, 1, 1, L]: 0 for attendable positions, -1e9 for padding. */
  bias: tf.Tensor4D;
}

export interface EmbedOptions {
  /**
   * 'gather' (default) or 'onehot': a one-hot matmul instead of tf.gather, for when the word
   * table itself is trained on the wasm backend (which lacks UnsortedSegmentSum, the gradient
   * of gather). Pretraining uses it with a compact table of the words it sees.
   */
  embedding?: 'gather' | 'onehot';
}

/**
 * LayerNorm over the last axis, with its gradient written out. tfjs would differentiate
 * tf.moments and the normalisation op by op: about 75 kernels per LayerNorm forward + backward
 * (mostly reshapes, casts and identities; 13 LayerNorms per training step, ~40 % of a step's
 * kernels), each costing a dispatch on wasm. The same function with the textbook gradient,
 *   x^ = (x - mean) r,  r = 1 / sqrt(var + eps),  y = x^ gamma + beta,
 *   dx = r (g - mean(g) - x^ mean(g x^)) with g = dy gamma,  dgamma = sum(dy x^),  dbeta = sum(dy),
 * takes about 20. The forward kernels are tf.moments' own, so outputs are the same bits.
 * On the wasm backend with SIMD, one fused kernel each way (fused-ops.ts): the same formulas,
 * within float32 rounding (test/model-fused-kernels.test.ts).
 */
export function layerNorm(x: tf.Tensor, gamma: tf.Tensor, beta: tf.Tensor, eps: number): tf.Tensor {
  if (fusedKernelsActive() && fusedLayerNormFits(x)) return fusedLayerNorm(x, gamma, beta, eps);
  return layerNormOp(eps)(x, gamma, beta);
}

type LayerNormOp = (x: tf.Tensor, gamma: tf.Tensor, beta: tf.Tensor) => tf.Tensor;
const layerNormOps = new Map<number, LayerNormOp>();

function layerNormOp(eps: number): LayerNormOp {
  let op = layerNormOps.get(eps);
  if (!op) {
    op = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
      const [x, gamma, beta] = args as tf.Tensor[];
      const save = args[3] as tf.GradSaveFunc;
      const mean = tf.mean(x, -1, true);
      const centred = tf.sub(x, mean);
      const r = tf.rsqrt(tf.add(tf.mean(tf.square(centred), -1, true), eps));
      const xhat = tf.mul(centred, r);
      save([xhat, r, gamma]);
      return {
        value: tf.add(tf.mul(xhat, gamma), beta),
        gradFunc: (dy: tf.Tensor, [xh, rs, g]: tf.Tensor[]) => {
          const H = g.shape[0] as number;
          const dxhat = tf.mul(dy, g);
          const m1 = tf.mean(dxhat, -1, true);
          const m2 = tf.mean(tf.mul(dxhat, xh), -1, true);
          const dx = tf.mul(tf.sub(tf.sub(dxhat, m1), tf.mul(xh, m2)), rs);
          const rows = (t: tf.Tensor) => tf.sum(tf.reshape(t, [-1, H]), 0);
          return [dx, rows(tf.mul(dy, xh)), rows(dy)];
        },
      };
    }) as LayerNormOp;
    layerNormOps.set(eps, op);
  }
  return op;
}

/**
 * x [n, L, in] (or [n, in]) @ kernel [in, out] + bias; on wasm with SIMD one fused kernel each
 * way (fused-ops.ts).
 */
function dense(
  x: tf.Tensor,
  kernel: tf.Tensor,
  bias?: tf.Tensor,
  residuals: readonly tf.Tensor[] = [],
): tf.Tensor {
  if (
    fusedKernelsActive() &&
    x.dtype === 'float32' &&
    kernel.dtype === 'float32' &&
    residuals.every((r) => r.dtype === 'float32')
  )
    return fusedDense(x, kernel, bias, residuals);
  let y: tf.Tensor;
  if (x.rank === 2) {
    y = tf.matMul(x as tf.Tensor2D, kernel as tf.Tensor2D);
    if (bias) y = y.add(bias);
  } else {
    const [n, L, d] = x.shape;
    y = tf.matMul(x.reshape([n * L, d]), kernel as tf.Tensor2D);
    if (bias) y = y.add(bias);
    y = y.reshape([n, L, kernel.shape[1] as number]);
  }
  for (const r of residuals) y = y.add(r);
  return y;
}

/**
 * dense() with the kernel by name (plus a residual, when given), through the lookup's fused
 * product when it has one.
 */
function denseOf(
  x: tf.Tensor,
  p: ParamLookup,
  kernel: string,
  bias: string,
  residual?: tf.Tensor,
): tf.Tensor {
  if (p.matMul) {
    const [n, L, d] = x.shape;
    const y = p.matMul(x.reshape([n * L, d]) as tf.Tensor2D, kernel);
    if (y) {
      const out = y.add(p(bias)).reshape([n, L, y.shape[1]]);
      return residual ? out.add(residual) : out;
    }
  }
  return dense(x, p(kernel), p(bias), residual ? [residual] : []);
}

/** Exact GELU (erf), as in BERT/ViLT; on wasm with SIMD one fused kernel each way. */
function gelu(x: tf.Tensor): tf.Tensor {
  if (fusedKernelsActive() && x.dtype === 'float32') return fusedGelu(x);
  return x.mul(0.5).mul(tf.erf(x.mul(Math.SQRT1_2)).add(1));
}

/** The weights embed() reads (a cache of its outputs is valid while these are unchanged). */
export const EMBED_PARAM_NAMES = [
  'text_embed/word',
  'text_embed/position',
  'text_embed/ln_gamma',
  'text_embed/ln_beta',
  'type_embed/table',
  'patch_embed/kernel',
  'patch_embed/bias',
  'image_embed/cls',
  'image_embed/position',
] as const;

export function embed(
  c: ModelConfig,
  p: ParamLookup,
  batch: VqaBatch,
  opts: EmbedOptions = {},
): HiddenState {
  installWasmKernels();
  const [n, S, S2, C] = batch.images.shape;
  if (S !== c.imageSize || S2 !== c.imageSize || C !== 3) {
    throw new Error(
      `batch.images: expected [n, ${c.imageSize}, ${c.imageSize}, 3], got [${batch.images.shape}]`,
    );
  }
  const T = batch.tokens.shape[1];
  if (T !== c.maxTextLen)
    throw new Error(`batch.tokens: expected [n, ${c.maxTextLen}], got [${batch.tokens.shape}]`);
  const H = c.hidden;
  const P = c.patchSize;
  const g = S / P;
  const N = numPatches(c);
  const types = p('type_embed/table');

  // Text: word + position -> LayerNorm (BertEmbeddings) + modality type 0.
  let words: tf.Tensor;
  if (opts.embedding === 'onehot') {
    const table = p('text_embed/word');
    const oh = tf.oneHot(batch.tokens.reshape([n * T]), table.shape[0]);
    words = tf.matMul(oh, table as tf.Tensor2D).reshape([n, T, H]);
  } else {
    const ids = batch.tokens.reshape([n * T]) as tf.Tensor1D;
    const rows = p.gather ? p.gather('text_embed/word', ids) : tf.gather(p('text_embed/word'), ids);
    words = rows.reshape([n, T, H]);
  }
  let text = words.add(p('text_embed/position'));
  text = layerNorm(text, p('text_embed/ln_gamma'), p('text_embed/ln_beta'), c.layerNormEps);
  text = text.add(types.slice([0, 0], [1, H]));

  // Image: non-overlapping P x P patches, flattened (row, col, channel), linear projection.
  const patches = batch.images
    .reshape([n, g, P, g, P, 3])
    .transpose([0, 1, 3, 2, 4, 5])
    .reshape([n, N, P * P * 3]);
  let image = denseOf(patches, p, 'patch_embed/kernel', 'patch_embed/bias');
  const cls = p('image_embed/cls').reshape([1, 1, H]).tile([n, 1, 1]);
  image = tf.concat([cls, image], 1).add(p('image_embed/position'));
  image = image.add(types.slice([1, 0], [1, H]));

  const x = tf.concat([text, image], 1) as tf.Tensor3D;
  const fullMask = tf.concat([batch.mask, tf.ones([n, N + 1])], 1);
  const bias = tf
    .sub(1, fullMask)
    .mul(-1e9)
    .reshape([n, 1, 1, T + N + 1]) as tf.Tensor4D;
  return { x, bias };
}

/** Multi-head self-attention of h, its output projection plus `residual`. */
function attention(
  c: ModelConfig,
  p: ParamLookup,
  b: string,
  lora: string | null,
  h: tf.Tensor,
  bias: tf.Tensor,
  residual: tf.Tensor,
): tf.Tensor {
  const [n, L, H] = h.shape;
  const nh = c.numHeads;
  const d = H / nh;
  /** The projection [n, L, H] (each head's columns side by side). */
  const projected = (name: 'q' | 'k' | 'v') => {
    let y = denseOf(h, p, `${b}/${name}_kernel`, `${b}/${name}_bias`);
    if (lora && name !== 'k') {
      const delta = dense(dense(h, p(`${lora}/${name}_a`)), p(`${lora}/${name}_b`));
      y = y.add(delta.mul(c.loraAlpha / c.loraRank));
    }
    return y;
  };
  const qf = projected('q');
  const kf = projected('k');
  const vf = projected('v');
  if (fusedKernelsActive() && [qf, kf, vf].every((t) => fusedHeadsFit(t, nh))) {
    // The same products per head, read and written in place (fused-ops.ts fusedHeadMatMul):
    // the same bits as the composition below.
    const raw = fusedHeadMatMul(qf, kf, nh, 'abT');
    const probs = fusedSoftmaxFits(raw, bias)
      ? fusedScaledSoftmax(raw, bias, 1 / Math.sqrt(d))
      : tf.softmax(raw.mul(1 / Math.sqrt(d)).add(bias), -1);
    const ctx = fusedHeadMatMul(probs, vf, nh, 'ab');
    return denseOf(ctx, p, `${b}/o_kernel`, `${b}/o_bias`, residual);
  }
  const heads = (y: tf.Tensor) => y.reshape([n, L, nh, d]).transpose([0, 2, 1, 3]);
  const q = heads(qf);
  const k = heads(kf);
  const v = heads(vf);
  const raw = tf.matMul(q, k, false, true);
  const probs =
    fusedKernelsActive() && fusedSoftmaxFits(raw, bias)
      ? fusedScaledSoftmax(raw, bias, 1 / Math.sqrt(d))
      : tf.softmax(raw.mul(1 / Math.sqrt(d)).add(bias), -1);
  const ctx = tf.matMul(probs, v).transpose([0, 2, 1, 3]).reshape([n, L, H]);
  return denseOf(ctx, p, `${b}/o_kernel`, `${b}/o_bias`, residual);
}

/**
 * Optional hook on the adapter's dense ops (LNTK's batched per-sample gradients): called with
 * the op's parameter names, its input x [n, L, in] and output y = x W + b [n, L, out]; returns
 * the tensor used in place of y (e.g. y plus a zero "tap" to differentiate with respect to).
 */
export type DenseTap = (
  names: { kernel: string; bias: string },
  x: tf.Tensor,
  y: tf.Tensor,
) => tf.Tensor;

/** One pre-LN block: x + MHSA(LN(x)); then m = MLP(LN(.)), m += Adapter(m); x + m. */
export function block(
  c: ModelConfig,
  p: ParamLookup,
  i: number,
  s: HiddenState,
  tap?: DenseTap,
): HiddenState {
  const b = blockName(i);
  const unit = trainableLayerNames(c)[i];
  const lora = c.peft === 'lora' ? unit : null;
  const eps = c.layerNormEps;
  // Residual adds ride in the dense kernels: x + Attn(LN(x)) is the output projection plus x
  // (IEEE addition commutes, so the same bits as adding after).
  const h = attention(
    c,
    p,
    b,
    lora,
    layerNorm(s.x, p(`${b}/ln1_gamma`), p(`${b}/ln1_beta`), eps),
    s.bias,
    s.x,
  );
  const inner = gelu(
    denseOf(
      layerNorm(h, p(`${b}/ln2_gamma`), p(`${b}/ln2_beta`), eps),
      p,
      `${b}/mlp1_kernel`,
      `${b}/mlp1_bias`,
    ),
  );
  let m = denseOf(inner, p, `${b}/mlp2_kernel`, `${b}/mlp2_bias`);
  if (c.peft === 'adapter') {
    // Pfeiffer et al. 2020: bottleneck adapter after the feed-forward output, before the
    // residual add; up-projection zero-initialised so the adapter starts as the identity.
    const tapped = (x: tf.Tensor, which: 'down' | 'up') => {
      const names = { kernel: `${unit}/${which}_kernel`, bias: `${unit}/${which}_bias` };
      const y = dense(x, p(names.kernel), p(names.bias));
      return tap ? tap(names, x, y) : y;
    };
    const a = tf.relu(tapped(m, 'down'));
    // h + (m + up(a)), as up(a)'s dense kernel plus m then h (the same bits); a tap (LNTK)
    // needs up(a) alone.
    if (!tap) {
      const up = { kernel: `${unit}/up_kernel`, bias: `${unit}/up_bias` };
      return { x: dense(a, p(up.kernel), p(up.bias), [m, h]) as tf.Tensor3D, bias: s.bias };
    }
    m = m.add(tapped(a, 'up'));
  }
  return { x: h.add(m) as tf.Tensor3D, bias: s.bias };
}

export function runBlocks(
  c: ModelConfig,
  p: ParamLookup,
  s: HiddenState,
  from: number,
  to: number,
  tap?: DenseTap,
): HiddenState {
  installWasmKernels();
  let cur = s;
  for (let i = from; i < to; i++) cur = block(c, p, i, cur, tap);
  return cur;
}

/** Final LN -> first token ([CLS]) -> tanh pooler: the pooled features [n, H]. */
export function pool(c: ModelConfig, p: ParamLookup, x: tf.Tensor3D): tf.Tensor2D {
  const [n, , H] = x.shape;
  const y = layerNorm(x, p('final_ln/gamma'), p('final_ln/beta'), c.layerNormEps);
  const first = y.slice([0, 0, 0], [n, 1, H]).reshape([n, H]);
  return tf.tanh(dense(first, p('pooler/kernel'), p('pooler/bias'))) as tf.Tensor2D;
}

/** Pooled features -> answer logits. */
export function classify(c: ModelConfig, p: ParamLookup, x: tf.Tensor3D): tf.Tensor2D {
  const pooled = pool(c, p, x);
  return dense(pooled, p('head/kernel'), p('head/bias')) as tf.Tensor2D;
}
