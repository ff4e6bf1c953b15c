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
import * as tf from '@tensorflow/tfjs';
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
}

const kernelsByMemory = new WeakMap<WebAssembly.Memory, SimdKernels | null>();

function simdFor(backend: WasmBackendInternals): SimdKernels | null {
  // The plain build exports its memory; Emscripten's threaded build imports a shared one and
  // keeps it on the module object.
  const memory = backend.wasm.asm?.memory ?? backend.wasm.wasmMemory;
  if (!(memory instanceof WebAssembly.Memory)) return null;
  let k = kernelsByMemory.get(memory);
  if (k === undefined) {
    k = instantiateSimd(memory);
    kernelsByMemory.set(memory, k);
  }
  return k;
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
  );
  simdCalls++;
  if (b3.temp) backend.disposeData(b3.info.dataId);
  return out;
}
