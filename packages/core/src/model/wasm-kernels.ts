// Kernel overrides for tfjs-backend-wasm 4.22 that remove work a training step does not need.
//
// Identity: the wasm backend's Identity allocates a new buffer and copies the tensor. tfjs's
// engine runs it for every tensor a kernel saves for its gradient (Engine.clone in
// saveTensorsForBackwardMode: 556 Identity kernels in one all-adapters step of `tiny`, ~7-10 %
// of its kernel time, bench/train.bench.ts). Tensors are immutable, so the clone can share the
// input's buffer with a reference count, exactly as the wasm Reshape kernel and the cpu
// backend's Identity already do. Values are untouched, so results are bit-identical.
//
// BatchMatMul with a batch (attention's per-head products): the backend's scalar loop is
// replaced by a WebAssembly SIMD kernel working in the backend's memory (wasm-simd.ts); un-batched
// products keep the backend's XNNPACK path. Transposed operands are transposed first by the
// backend's own Transpose kernel (a copy of a few thousand values).
//
// Erf (GELU) and Exp (erf's gradient, softmax-free losses): the backend's scalar loops are
// replaced by SIMD approximations within a few float32 ulps (wasm-simd.ts). Gradients are
// tfjs's own, unchanged.
//
// Fused kernels (wasm-fused.ts), registered under new names for the wasm backend only and
// called by fused-ops.ts: LayerNorm forward and backward, GELU and its gradient, attention's
// scaled, masked softmax and its gradient, the dense layer (product, bias and residuals) with
// its gradient, attention's per-head products on [n, L, H] without head transposes
// (FocusHeadMatMul), and the AdamW update of every trained tensor in one call. Each replaces a
// chain of 3-25 tfjs kernels (2,192 -> 711 kernels per all-adapters step of `tiny`, then
// ~110 fewer without the head transposes).
import * as tf from '@tensorflow/tfjs';
import { instantiateFused, type FusedKernels } from './wasm-fused.js';
import { instantiateSimd, type SimdKernels } from './wasm-simd.js';

interface WasmBackendInternals {
  incRef(dataId: tf.DataId): void;
  disposeData(dataId: tf.DataId): boolean;
  makeOutput(shape: number[], dtype: tf.DataType): tf.TensorInfo;
  dataIdMap: { get(dataId: tf.DataId): { memoryOffset: number } | undefined };
  wasm: { asm?: { memory?: WebAssembly.Memory }; wasmMemory?: WebAssembly.Memory };
}

let installed = false;
let overridesOn = true;
let simdCalls = 0;
const elementwiseCalls = { erf: 0, exp: 0 };
let fusedCalls = 0;
let fusedOn = true;

/**
 * Switches the fused kernels alone off (forward.ts and train/adamw.ts use their tfjs
 * compositions) or back on; bench/train.bench.ts compares the two. Default on.
 */
export function useFusedKernels(on: boolean): void {
  fusedOn = on;
}

/** Kernel names of the fused kernels (wasm backend only). */
export const FUSED = {
  layerNorm: 'FocusLayerNorm',
  layerNormGrad: 'FocusLayerNormGrad',
  gelu: 'FocusGelu',
  geluGrad: 'FocusGeluGrad',
  adamw: 'FocusAdamW',
  dense: 'FocusDense',
  denseGradX: 'FocusDenseGradX',
  denseGradW: 'FocusDenseGradW',
  colSum: 'FocusColSum',
  softmax: 'FocusScaledSoftmax',
  softmaxGrad: 'FocusScaledSoftmaxGrad',
  headMatMul: 'FocusHeadMatMul',
} as const;

/** Fused kernels run so far (tests check that the fused path really ran). */
export function fusedKernelCalls(): number {
  return fusedCalls;
}

/** Which of this module's kernels are switched on (results differ in float rounding). */
export function wasmKernelVariant(): string {
  return `${overridesOn ? 'ours' : 'tfjs'}/${fusedOn ? 'fused' : 'unfused'}`;
}

/**
 * Whether the fused kernels can run now: the active backend is wasm, the overrides are on
 * (useWasmKernels) and this engine has WebAssembly SIMD.
 */
export function fusedKernelsActive(): boolean {
  if (!fusedOn || !overridesOn || !installed || tf.getBackend() !== 'wasm') return false;
  return fusedFor(tf.backend() as unknown as WasmBackendInternals) !== null;
}

/** Batched products the SIMD kernel computed so far (tests check that it really ran). */
export function simdBatchMatMulCalls(): number {
  return simdCalls;
}

/** Erf kernels the SIMD code computed so far. */
export function simdErfKernelCalls(): number {
  return elementwiseCalls.erf;
}

/** Exp kernels the SIMD code computed so far. */
export function simdExpKernelCalls(): number {
  return elementwiseCalls.exp;
}

/**
 * Switches both overrides off (the backend's own Identity and BatchMatMul run) or back on;
 * bench/train.bench.ts compares the two. Default on.
 */
export function useWasmKernels(on: boolean): void {
  overridesOn = on;
}

/**
 * Replaces the wasm backend's Identity, batched BatchMatMul and Erf. Idempotent, and a no-op
 * until the wasm backend's module has registered its kernels (importing it here would make
 * wasm the default backend of every program that uses tfjs, initialised or not): forward.ts
 * and initNodeBackend call it, so it takes effect before the first forward pass on wasm.
 */
export function installWasmKernels(): void {
  if (installed) return;
  const identity = tf.getKernel(tf.Identity, 'wasm');
  if (!identity) return;
  installed = true;
  tf.unregisterKernel(tf.Identity, 'wasm');
  tf.registerKernel({
    kernelName: tf.Identity,
    backendName: 'wasm',
    kernelFunc: (args) => {
      const x = (args.inputs as { x: tf.TensorInfo }).x;
      // Strings live outside the heap; the original handles them.
      if (!overridesOn || x.dtype === 'string') return identity.kernelFunc(args);
      (args.backend as unknown as WasmBackendInternals).incRef(x.dataId);
      return { dataId: x.dataId, shape: x.shape, dtype: x.dtype };
    },
  });
  const matmul = tf.getKernel(tf.BatchMatMul, 'wasm');
  const transpose = tf.getKernel(tf.Transpose, 'wasm');
  if (matmul && transpose) {
    tf.unregisterKernel(tf.BatchMatMul, 'wasm');
    tf.registerKernel({
      ...matmul,
      kernelFunc: (args) =>
        batchedMatMul(args, transpose.kernelFunc) ?? (matmul.kernelFunc(args) as tf.TensorInfo),
    });
  }
  for (const [name, which] of [
    [tf.Erf, 'erf'],
    [tf.Exp, 'exp'],
  ] as const) {
    const original = tf.getKernel(name, 'wasm');
    if (!original) continue;
    tf.unregisterKernel(name, 'wasm');
    tf.registerKernel({
      ...original,
      kernelFunc: (args) =>
        simdElementwise(args, which) ?? (original.kernelFunc(args) as tf.TensorInfo),
    });
  }
  registerFusedKernels();
  registerDenseKernels();
  registerSoftmaxKernels();
  registerHeadMatMul();
}

/**
 * Attention's softmax(scores scale + bias) as one kernel each way: FocusScaledSoftmax
 * {s [b, h, q, n], bias [b, 1, 1, n]} (attrs: scale; the scale and bias in one SIMD pass,
 * then the backend's softmax kernel) and its registered gradient
 * FocusScaledSoftmaxGrad {y, dy} -> ds. The bias (the padding mask) is a constant of the
 * batch; its gradient, never on a path to trained tensors, is given by tf ops for completeness.
 */
function registerSoftmaxKernels(): void {
  const softmax = tf.getKernel(tf.Softmax, 'wasm');
  if (!softmax) return;
  const register = (kernelName: string, kernelFunc: tf.KernelFunc) =>
    tf.registerKernel({ kernelName, backendName: 'wasm', kernelFunc });
  register(FUSED.softmax, (args) => {
    const { s, bias } = args.inputs as Record<string, tf.TensorInfo>;
    const { scale } = args.attrs as unknown as { scale: number };
    const { k, ptr, out, backend } = fusedContext(args);
    const n = s.shape[s.shape.length - 1];
    const rows = tf.util.sizeFromShape(s.shape) / n;
    if (rows * n === 0) return out(s.shape);
    // z = s scale + bias in one pass, then the backend's softmax (XNNPACK's exp is about twice
    // as fast as ours), within this one kernel.
    const z = out(s.shape);
    k.scaleBias(ptr(s), ptr(bias), ptr(z), rows, rows / s.shape[0], n, scale);
    const y = softmax.kernelFunc({
      inputs: { logits: z },
      backend: args.backend,
      attrs: { dim: s.shape.length - 1 },
    }) as tf.TensorInfo;
    backend.disposeData(z.dataId);
    return y;
  });
  register(FUSED.softmaxGrad, (args) => {
    const { y, dy } = args.inputs as Record<string, tf.TensorInfo>;
    const { scale } = args.attrs as unknown as { scale: number };
    const { k, ptr, out } = fusedContext(args);
    const n = y.shape[y.shape.length - 1];
    const rows = tf.util.sizeFromShape(y.shape) / n;
    const dx = out(y.shape);
    if (rows * n > 0) k.softmaxGrad(ptr(y), ptr(dy), ptr(dx), rows, n, scale);
    return dx;
  });
  tf.registerGradient({
    kernelName: FUSED.softmax,
    outputsToSave: [true],
    gradFunc: (dy, saved, attrs) => {
      const [y] = saved;
      const g = Array.isArray(dy) ? dy[0] : dy;
      const { scale } = attrs as unknown as { scale: number };
      const ds = () =>
        tf.engine().runKernel(FUSED.softmaxGrad, { y, dy: g }, { scale }) as tf.Tensor;
      return {
        s: ds,
        // d(bias) = the sum of d(s scale + bias) over heads and query rows.
        bias: () => tf.tidy(() => tf.sum(tf.div(ds(), scale), [1, 2], true)),
      };
    },
  });
}

function memoryOf(backend: WasmBackendInternals): WebAssembly.Memory | null {
  // The plain build exports its memory; Emscripten's threaded build imports a shared one and
  // keeps it on the module object.
  const memory = backend.wasm.asm?.memory ?? backend.wasm.wasmMemory;
  return memory instanceof WebAssembly.Memory ? memory : null;
}

/** The kernels `instantiate` builds on a backend's memory: built once per memory, null without one. */
function kernelsPerMemory<K>(
  instantiate: (memory: WebAssembly.Memory) => K | null,
): (backend: WasmBackendInternals) => K | null {
  const byMemory = new WeakMap<WebAssembly.Memory, K | null>();
  return (backend) => {
    const memory = memoryOf(backend);
    if (!memory) return null;
    let k = byMemory.get(memory);
    if (k === undefined) {
      k = instantiate(memory);
      byMemory.set(memory, k);
    }
    return k;
  };
}

const fusedFor = kernelsPerMemory<FusedKernels>(instantiateFused);
const simdFor = kernelsPerMemory<SimdKernels>(instantiateSimd);

type KernelArgs = Parameters<tf.KernelFunc>[0];

/** The fused kernel set and pointer helpers of a kernel call's backend. */
function fusedContext(args: KernelArgs) {
  const backend = args.backend as unknown as WasmBackendInternals;
  const k = fusedFor(backend);
  if (!k) throw new Error('fused wasm kernels: this engine lacks WebAssembly SIMD');
  fusedCalls++;
  const ptr = (x: tf.TensorInfo) => backend.dataIdMap.get(x.dataId)!.memoryOffset;
  const out = (shape: number[]) => backend.makeOutput(shape, 'float32');
  return { k, ptr, out, backend };
}

function registerFusedKernels(): void {
  const register = (kernelName: string, kernelFunc: tf.KernelFunc) =>
    tf.registerKernel({ kernelName, backendName: 'wasm', kernelFunc });
  register(FUSED.layerNorm, (args) => {
    const { x, gamma, beta } = args.inputs as Record<string, tf.TensorInfo>;
    const { eps } = args.attrs as unknown as { eps: number };
    const { k, ptr, out } = fusedContext(args);
    const h = x.shape[x.shape.length - 1];
    const rows = tf.util.sizeFromShape(x.shape) / h;
    const y = out(x.shape);
    const xhat = out(x.shape);
    const rstd = out([...x.shape.slice(0, -1), 1]);
    if (rows > 0)
      k.layerNorm(ptr(x), ptr(gamma), ptr(beta), ptr(y), ptr(xhat), ptr(rstd), rows, h, eps);
    return [y, xhat, rstd];
  });
  register(FUSED.layerNormGrad, (args) => {
    const { dy, xhat, rstd, gamma } = args.inputs as Record<string, tf.TensorInfo>;
    const { k, ptr, out } = fusedContext(args);
    const h = xhat.shape[xhat.shape.length - 1];
    const rows = tf.util.sizeFromShape(xhat.shape) / h;
    const dx = out(xhat.shape);
    const dgamma = out(gamma.shape);
    const dbeta = out(gamma.shape);
    k.layerNormGrad(
      ptr(dy),
      ptr(xhat),
      ptr(rstd),
      ptr(gamma),
      ptr(dx),
      ptr(dgamma),
      ptr(dbeta),
      rows,
      h,
    );
    return [dx, dgamma, dbeta];
  });
  register(FUSED.gelu, (args) => {
    const { x } = args.inputs as Record<string, tf.TensorInfo>;
    const { k, ptr, out } = fusedContext(args);
    const y = out(x.shape);
    const phi = out(x.shape);
    const size = tf.util.sizeFromShape(x.shape);
    if (size > 0) k.gelu(ptr(x), ptr(y), ptr(phi), size);
    return [y, phi];
  });
  register(FUSED.geluGrad, (args) => {
    const { x, phi, dy } = args.inputs as Record<string, tf.TensorInfo>;
    const { k, ptr, out } = fusedContext(args);
    const dx = out(x.shape);
    const size = tf.util.sizeFromShape(x.shape);
    if (size > 0) k.geluGrad(ptr(x), ptr(phi), ptr(dy), ptr(dx), size);
    return dx;
  });
  // Inputs p0, m0, v0, g0, p1, ...; outputs p0', m0', v0', p1', ... (attrs: the scalars).
  register(FUSED.adamw, (args) => {
    const inputs = args.inputs as Record<string, tf.TensorInfo>;
    const a = args.attrs as unknown as AdamWScalars;
    const { k, ptr, out, backend } = fusedContext(args);
    const count = Object.keys(inputs).length / 4;
    const outs: tf.TensorInfo[] = [];
    const rows: number[] = [];
    for (let i = 0; i < count; i++) {
      const [p, m, v, g] = ['p', 'm', 'v', 'g'].map((c) => inputs[`${c}${i}`]);
      const o = [out(p.shape), out(p.shape), out(p.shape)];
      outs.push(...o);
      const size = tf.util.sizeFromShape(p.shape);
      // Empty tensors have no memory to point at; a count of 0 makes the kernel skip them.
      rows.push(...(size > 0 ? [p, m, v, g, ...o].map(ptr) : new Array<number>(7).fill(0)), size);
    }
    const table = backend.makeOutput([8 * count], 'int32');
    const at = ptr(table);
    new Int32Array(memoryOf(backend)!.buffer, at, 8 * count).set(rows);
    k.adamw(at, count, a.b1, a.c1, a.b2, a.c2, a.bc1, a.bc2, a.eps, a.wd, a.lr);
    backend.disposeData(table.dataId);
    return outs;
  });
}

/**
 * The dense layer y = x W (+ b) over the last axis of x, as one kernel each way, all by the
 * SIMD product (wasm-simd.ts; faster than the backend's XNNPACK path at the model's shapes,
 * e.g. 528 x 16 @ 16 x 64: 24 against 9 GFLOP/s, and the same float32 sums in the same order):
 *   FocusDense {x, w, b?, r0?, r1?}: x seen as [rows, in] (no reshape kernels), then b added
 *     to every row, then the residuals r0 and r1 (tensors of the output's shape) in that
 *     order: the bits of tf.matMul(...).add(b).add(r0).add(r1) on this backend;
 *   its gradient (registered, so tfjs asks only for the inputs on the path to the trained
 *   tensors: a frozen kernel's dW is never computed):
 *     dx = dy W^T (FocusDenseGradX: W transposed by the backend's kernel, a small copy; the
 *       product reads B's rows four columns at a time),
 *     dW = x^T dy (FocusDenseGradW: reads x transposed in place),
 *     db = the column sums of dy (FocusColSum).
 */
function registerDenseKernels(): void {
  const transpose = tf.getKernel(tf.Transpose, 'wasm');
  if (!transpose) return;
  const register = (kernelName: string, kernelFunc: tf.KernelFunc) =>
    tf.registerKernel({ kernelName, backendName: 'wasm', kernelFunc });
  const kernels = (args: KernelArgs) => {
    const backend = args.backend as unknown as WasmBackendInternals;
    const simd = simdFor(backend);
    const fused = fusedFor(backend);
    if (!simd || !fused) throw new Error('fused wasm kernels: this engine lacks WebAssembly SIMD');
    fusedCalls++;
    const ptr = (t: tf.TensorInfo) => backend.dataIdMap.get(t.dataId)!.memoryOffset;
    /** a [rows, k] @ b [k, n] (a read transposed, [k, rows] in memory, when aT): a new buffer. */
    const product = (
      a: tf.TensorInfo,
      b: tf.TensorInfo,
      rows: number,
      k: number,
      n: number,
      aT = false,
    ) => {
      const c = backend.makeOutput([rows, n], 'float32');
      if (rows * n === 0) return c;
      if (k === 0) return zeroFill(backend, c, rows * n);
      simd.bmm(ptr(a), ptr(b), ptr(c), 1, rows, k, n, 0, 0, aT ? 1 : k, aT ? rows : 1, n, 0, n);
      return c;
    };
    return { backend, fused, ptr, product };
  };
  const as = (x: tf.TensorInfo, shape: number[]): tf.TensorInfo => ({
    dataId: x.dataId,
    shape,
    dtype: x.dtype,
  });
  register(FUSED.dense, (args) => {
    const { x, w, b, r0, r1 } = args.inputs as Record<string, tf.TensorInfo | undefined>;
    const { fused, ptr, product } = kernels(args);
    const [k, n] = w!.shape;
    const rows = tf.util.sizeFromShape(x!.shape) / k;
    const y = product(x!, w!, rows, k, n);
    if (rows * n > 0) {
      if (b) fused.addRow(ptr(y), ptr(b), rows, n);
      // Residuals, in order: ((x W + b) + r0) + r1.
      for (const r of [r0, r1]) if (r) fused.addInPlace(ptr(y), ptr(r), rows * n);
    }
    return as(y, [...x!.shape.slice(0, -1), n]);
  });
  register(FUSED.denseGradX, (args) => {
    const { dy, w } = args.inputs as Record<string, tf.TensorInfo>;
    const { backend, product } = kernels(args);
    const [k, n] = w.shape;
    const rows = tf.util.sizeFromShape(dy.shape) / n;
    const wt = transpose.kernelFunc({
      inputs: { x: w },
      backend: args.backend,
      attrs: { perm: [1, 0] },
    }) as tf.TensorInfo;
    const dx = product(dy, wt, rows, n, k);
    backend.disposeData(wt.dataId);
    return as(dx, [...dy.shape.slice(0, -1), k]);
  });
  register(FUSED.denseGradW, (args) => {
    const { x, dy } = args.inputs as Record<string, tf.TensorInfo>;
    const { product } = kernels(args);
    const k = x.shape[x.shape.length - 1];
    const n = dy.shape[dy.shape.length - 1];
    const rows = tf.util.sizeFromShape(x.shape) / k;
    // dW (k x n) = x^T (k x rows) @ dy (rows x n).
    return product(x, dy, k, rows, n, true);
  });
  register(FUSED.colSum, (args) => {
    const { x } = args.inputs as Record<string, tf.TensorInfo>;
    const { k, ptr, out, backend } = fusedContext(args);
    const n = x.shape[x.shape.length - 1];
    const rows = tf.util.sizeFromShape(x.shape) / n;
    const y = out([n]);
    if (rows === 0) return zeroFill(backend, y, n);
    k.colSum(ptr(x), ptr(y), rows, n);
    return y;
  });
  tf.registerGradient({
    kernelName: FUSED.dense,
    inputsToSave: ['x', 'w'],
    gradFunc: (dy, saved) => {
      const [x, w] = saved;
      const g = Array.isArray(dy) ? dy[0] : dy;
      const run = (name: string, inputs: tf.NamedTensorMap) =>
        tf.engine().runKernel(name, inputs, {}) as tf.Tensor;
      return {
        x: () => run(FUSED.denseGradX, { dy: g, w }),
        w: () => run(FUSED.denseGradW, { x, dy: g }),
        b: () => run(FUSED.colSum, { x: g }),
        // A residual's gradient is dy itself (a new tensor on the same buffer).
        r0: () => tf.reshape(g, g.shape),
        r1: () => tf.reshape(g, g.shape),
      };
    },
  });
}

/**
 * Attention's per-head products without the head transposes: FocusHeadMatMul {a, b} (attrs:
 * heads, form) reads and writes the heads of [n, L, H] tensors in place (head h: columns
 * h d .. h d + d, d = H / heads) with scores [n, heads, L, L]:
 *   'abT': S[s, h] = A_h B_h^T (a, b heads; scores out): Q K^T, and dP = dC V^T;
 *   'ab':  C_h = A[s, h] B_h (a scores, b heads; heads out): P V, and dQ = dS K;
 *   'aTb': C_h = A[s, h]^T B_h: dK = dS^T Q, dV = P^T dC.
 * forward.ts composed the same products as reshape, transpose to [n, heads, L, d], tf.matMul
 * (BatchMatMul by the SIMD product; tfjs's gradient) and a transpose back: ~20 kernels per
 * block each way, of which ten copies. Here the SIMD product takes the strides of the heads
 * (only 'abT' copies B, transposed, as BatchMatMul did): each element is the same float32 sum
 * in the same order, so the same bits (test/model-fused-kernels.test.ts). The forms are closed
 * under differentiation (the registered gradient below).
 */
export type HeadForm = 'abT' | 'ab' | 'aTb';

function registerHeadMatMul(): void {
  const transpose = tf.getKernel(tf.Transpose, 'wasm');
  if (!transpose) return;
  tf.registerKernel({
    kernelName: FUSED.headMatMul,
    backendName: 'wasm',
    kernelFunc: (args) => {
      const { a, b } = args.inputs as Record<string, tf.TensorInfo>;
      const { heads, form } = args.attrs as unknown as { heads: number; form: HeadForm };
      const { ptr, out, backend } = fusedContext(args);
      const simd = simdFor(backend)!;
      const headsOf = form === 'abT' ? a : b; // an [n, L, H] operand
      const [n, L, H] = headsOf.shape;
      const d = H / heads;
      const y = out(form === 'abT' ? [n, heads, L, L] : [n, L, H]);
      if (n * L * H === 0) return y;
      // Head h of sample s as a matrix: at base + h * head (bytes), per-sample stride (bytes),
      // row and column steps (elements).
      const headView = (t: tf.TensorInfo) => ({
        base: ptr(t),
        head: d * 4,
        stride: L * H * 4,
        row: H,
        col: 1,
      });
      const scoreView = (t: tf.TensorInfo, transposed = false) => ({
        base: ptr(t),
        head: L * L * 4,
        stride: heads * L * L * 4,
        row: transposed ? 1 : L,
        col: transposed ? L : 1,
      });
      let temp: tf.TensorInfo | null = null;
      let views;
      if (form === 'abT') {
        // B_h^T, copied: [n, L, heads, d] -> [n, heads, d, L] (the product reads B's rows
        // four columns at a time).
        temp = transpose.kernelFunc({
          inputs: { x: { dataId: b.dataId, shape: [n, L, heads, d], dtype: b.dtype } },
          backend: args.backend,
          attrs: { perm: [0, 2, 3, 1] },
        }) as tf.TensorInfo;
        const bt = temp;
        views = {
          a: headView(a),
          b: { base: ptr(bt), head: d * L * 4, stride: heads * d * L * 4, row: L },
          c: scoreView(y),
          m: L,
          k: d,
          n: L,
        };
      } else {
        views = {
          a: scoreView(a, form === 'aTb'),
          b: headView(b),
          c: headView(y),
          m: L,
          k: L,
          n: d,
        };
      }
      const v = views;
      for (let h = 0; h < heads; h++)
        simd.bmm(
          v.a.base + h * v.a.head,
          v.b.base + h * v.b.head,
          v.c.base + h * v.c.head,
          n,
          v.m,
          v.k,
          v.n,
          v.a.stride,
          v.b.stride,
          v.a.row,
          v.a.col,
          v.b.row,
          v.c.stride,
          v.c.row,
        );
      if (temp) backend.disposeData(temp.dataId);
      return y;
    },
  });
  const run = (a: tf.Tensor, b: tf.Tensor, heads: number, form: HeadForm) =>
    tf.engine().runKernel(FUSED.headMatMul, { a, b }, { heads, form }) as tf.Tensor;
  tf.registerGradient({
    kernelName: FUSED.headMatMul,
    inputsToSave: ['a', 'b'],
    gradFunc: (dy, saved, attrs) => {
      const [a, b] = saved;
      const g = Array.isArray(dy) ? dy[0] : dy;
      const { heads, form } = attrs as unknown as { heads: number; form: HeadForm };
      // S = A B^T: dA = dS B, dB = dS^T A. C = A B: dA = dC B^T, dB = A^T dC.
      // C = A^T B: dA = B dC^T, dB = A dC.
      if (form === 'abT')
        return { a: () => run(g, b, heads, 'ab'), b: () => run(g, a, heads, 'aTb') };
      if (form === 'ab')
        return { a: () => run(g, b, heads, 'abT'), b: () => run(a, g, heads, 'aTb') };
      return { a: () => run(b, g, heads, 'abT'), b: () => run(a, g, heads, 'ab') };
    },
  });
}

/** Zeroes a fresh output (makeOutput leaves its memory as it was). */
function zeroFill(backend: WasmBackendInternals, t: tf.TensorInfo, size: number): tf.TensorInfo {
  if (size > 0)
    new Float32Array(
      memoryOf(backend)!.buffer,
      backend.dataIdMap.get(t.dataId)!.memoryOffset,
      size,
    ).fill(0);
  return t;
}

/** The scalars of one AdamW update (wasm-fused.ts's adamw). */
export interface AdamWScalars {
  b1: number;
  /** 1 - b1 */
  c1: number;
  b2: number;
  /** 1 - b2 */
  c2: number;
  /** 1 - b1^t */
  bc1: number;
  /** 1 - b2^t */
  bc2: number;
  eps: number;
  wd: number;
  lr: number;
}

/**
 * y = f(x) element-wise by a SIMD kernel for float32 x; null otherwise (the backend's kernel
 * runs).
 */
function simdElementwise(
  args: Parameters<tf.KernelFunc>[0],
  which: 'erf' | 'exp',
): tf.TensorInfo | null {
  if (!overridesOn) return null;
  const x = (args.inputs as { x: tf.TensorInfo }).x;
  if (x.dtype !== 'float32') return null;
  const backend = args.backend as unknown as WasmBackendInternals;
  const simd = simdFor(backend);
  if (!simd) return null;
  const out = backend.makeOutput(x.shape, 'float32');
  const size = tf.util.sizeFromShape(x.shape);
  if (size > 0)
    simd[which](
      backend.dataIdMap.get(x.dataId)!.memoryOffset,
      backend.dataIdMap.get(out.dataId)!.memoryOffset,
      size,
    );
  elementwiseCalls[which]++;
  return out;
}

/**
 * The SIMD product for float32 operands with a batch (> 1) on either side and equal or
 * broadcast (1) batch sizes; null for everything else (the backend's kernel runs).
 */
function batchedMatMul(
  args: Parameters<tf.KernelFunc>[0],
  transposeKernel: tf.KernelFunc,
): tf.TensorInfo | null {
  if (!overridesOn) return null;
  const { a, b } = args.inputs as { a: tf.TensorInfo; b: tf.TensorInfo };
  const { transposeA, transposeB } = args.attrs as unknown as {
    transposeA: boolean;
    transposeB: boolean;
  };
  if (a.dtype !== 'float32' || b.dtype !== 'float32') return null;
  const ra = a.shape.length;
  const rb = b.shape.length;
  if (ra < 2 || rb < 2) return null;
  const outerA = a.shape.slice(0, -2);
  const outerB = b.shape.slice(0, -2);
  const batchA = tf.util.sizeFromShape(outerA);
  const batchB = tf.util.sizeFromShape(outerB);
  const batch = Math.max(batchA, batchB);
  // Equal batch dimensions, or one side without a batch (broadcast with stride 0); other
  // broadcasts (e.g. [2, 1] x [1, 3]) stay with tfjs.
  const same = outerA.length === outerB.length && outerA.every((d, i) => d === outerB[i]);
  if (batch <= 1 || !(same || batchA === 1 || batchB === 1)) return null;
  const backend = args.backend as unknown as WasmBackendInternals;
  const simd = simdFor(backend);
  if (!simd) return null;

  const m = transposeA ? a.shape[ra - 1] : a.shape[ra - 2];
  const k = transposeA ? a.shape[ra - 2] : a.shape[ra - 1];
  const kb = transposeB ? b.shape[rb - 1] : b.shape[rb - 2];
  const n = transposeB ? b.shape[rb - 2] : b.shape[rb - 1];
  // A mismatch: the backend's kernel throws tfjs's own message. Empty products: the backend.
  if (k !== kb || m * n * k === 0) return null;
  const plain = (x: tf.TensorInfo, rows: number, cols: number, batchX: number, t: boolean) => {
    const x3 = {
      dataId: x.dataId,
      shape: [batchX, t ? cols : rows, t ? rows : cols],
      dtype: x.dtype,
    };
    if (!t) return { info: x3, temp: false };
    const y = transposeKernel({
      inputs: { x: x3 },
      backend: args.backend,
      attrs: { perm: [0, 2, 1] },
    });
    return { info: y as tf.TensorInfo, temp: true };
  };
  // A transposed A is read in place (the kernel takes its element steps); a transposed B is
  // copied untransposed first (the kernel reads B's rows four columns at a time).
  const b3 = plain(b, k, n, batchB, transposeB);
  const outShape = [...tf.broadcast_util.assertAndGetBroadcastShape(outerA, outerB), m, n];
  const out = backend.makeOutput(outShape, 'float32');
  const offset = (x: tf.TensorInfo) => backend.dataIdMap.get(x.dataId)!.memoryOffset;
  simd.bmm(
    offset(a),
    offset(b3.info),
    offset(out),
    batch,
    m,
    k,
    n,
    batchA === 1 ? 0 : m * k * 4,
    batchB === 1 ? 0 : k * n * 4,
    transposeA ? 1 : k,
    transposeA ? m : 1,
    n,
    m * n * 4,
    n,
  );
  simdCalls++;
  if (b3.temp) backend.disposeData(b3.info.dataId);
  return out;
}
