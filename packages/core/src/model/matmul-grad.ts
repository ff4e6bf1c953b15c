// The gradient of tf.matMul with explicit transposes on the wasm backend.
//
// tfjs-backend-wasm 4.22 multiplies 2-D matrices through XNNPACK only when neither operand is
// transposed; with `transposeA` / `transposeB` it falls back to a scalar loop about 10x slower
// (measured in bench/train.bench.ts: 528x128 @ (64x128)^T at ~3.7 GFLOP/s against ~30-40 for the
// same product without the flag). tfjs's own BatchMatMul gradient is made of exactly those
// transposed products (dA = dY B^T, dB = A^T dY), so a backward pass ran an order of magnitude
// below its forward pass. This gradient is the same mathematics with the transposes done by
// tf.transpose (a copy of a few thousand values) before an untransposed product.
//
// It stays differentiable (transpose and matMul have gradients), so second-order uses (Hessian-
// vector products in importance/) keep working. Other backends and batched (rank > 2) operands
// keep tfjs's original gradient: webgl/webgpu/cpu multiply transposed operands at full speed.
import * as tf from '@tensorflow/tfjs';

type MatMulAttrs = { transposeA: boolean; transposeB: boolean };

const mm = (a: tf.Tensor, b: tf.Tensor, ta = false, tb = false) =>
  tf.matMul(a as tf.Tensor2D, b as tf.Tensor2D, ta, tb);
const T = (x: tf.Tensor) => tf.transpose(x);

/** tfjs's BatchMatMul gradient (tfjs-core gradients/BatchMatMul_grad.ts), unchanged. */
function flagged(dy: tf.Tensor, a: tf.Tensor, b: tf.Tensor, at: MatMulAttrs) {
  const { transposeA: ta, transposeB: tb } = at;
  if (!ta && !tb) return { a: () => mm(dy, b, false, true), b: () => mm(a, dy, true, false) };
  if (!ta && tb) return { a: () => mm(dy, b), b: () => mm(dy, a, true, false) };
  if (ta && !tb) return { a: () => mm(b, dy, false, true), b: () => mm(a, dy) };
  return { a: () => mm(b, dy, true, true), b: () => mm(dy, a, true, true) };
}

/** The same products with every transpose made explicit. */
function explicit(dy: tf.Tensor, a: tf.Tensor, b: tf.Tensor, at: MatMulAttrs) {
  const { transposeA: ta, transposeB: tb } = at;
  if (!ta && !tb) return { a: () => mm(dy, T(b)), b: () => mm(T(a), dy) };
  if (!ta && tb) return { a: () => mm(dy, b), b: () => mm(T(dy), a) };
  if (ta && !tb) return { a: () => mm(b, T(dy)), b: () => mm(a, dy) };
  return { a: () => mm(T(b), T(dy)), b: () => mm(T(dy), T(a)) };
}

let installed = false;
let explicitOn = true;

/** Switches back to tfjs's own products (bench/train.bench.ts compares the two); default on. */
export function useExplicitMatMulGradient(on: boolean): void {
  explicitOn = on;
}

/** Registers the gradient (idempotent; forward.ts calls it on import). */
export function installMatMulGradient(): void {
  if (installed) return;
  installed = true;
  tf.registerGradient({
    kernelName: tf.BatchMatMul,
    inputsToSave: ['a', 'b'],
    gradFunc: (dy, saved, attrs) => {
      const [a, b] = saved;
      const at = attrs as unknown as MatMulAttrs;
      const d = Array.isArray(dy) ? dy[0] : dy;
      const plain = explicitOn && a.rank === 2 && b.rank === 2 && tf.getBackend() === 'wasm';
      return (plain ? explicit : flagged)(d, a, b, at);
    },
  });
}
