// How many samples one forward/backward pass may hold, from the backend's memory limits and an
// estimate of the activations a pass keeps on the gradient tape. Used to pick micro-batch sizes
// (./grads.ts) and LNTK chunk sizes (importance/lntk.ts); both can be forced by option.
import * as tf from '@tensorflow/tfjs';
import { numPatches, type ModelConfig } from '../model/config.js';

export interface BackendLimits {
  backend: string;
  /** Bytes the activations of one pass may take. */
  budgetBytes: number;
  /** Largest single buffer the backend can bind (WebGPU), else Infinity. */
  maxBufferBytes: number;
}

/** tfjs-backend-wasm 4.x is built with a 4 GiB maximum heap (emscripten getHeapMax). */
export const WASM_HEAP_MAX_BYTES = 4294901760;
/** Share of the free wasm heap one pass may use: the allocator fragments, the tape's peak is
 * reached during the backward pass while the forward's tensors are still alive. */
const WASM_SHARE = 0.4;
/**
 * Activation budget of one pass: backends that do not report a memory size (cpu, webgl,
 * WebGPU's total) get this, and wasm at most this. A wasm heap never shrinks, so whatever a
 * pass takes stays in the tab's (or process's) resident memory; larger passes buy little
 * speed on a CPU backend.
 */
export const DEFAULT_BUDGET_BYTES = 512 * 1024 * 1024;

let forced: Partial<BackendLimits> | undefined;
/** Probed bytes per sample per taped block (./grads.ts probeActivationBytes), by backend+geometry. */
const measured = new Map<string, number>();

function geometryKey(c: ModelConfig): string {
  return [tf.getBackend(), c.imageSize, c.patchSize, c.hidden, c.numHeads, c.mlpDim, c.maxTextLen]
    .map(String)
    .join('|');
}

/** Records a measured tape cost (bytes per sample per block) that autoMicroBatchSize then uses. */
export function recordActivationBytes(c: ModelConfig, bytesPerSampleBlock: number): void {
  if (!(bytesPerSampleBlock > 0) || !Number.isFinite(bytesPerSampleBlock))
    throw new Error(
      `recordActivationBytes: expected a positive byte count, got ${bytesPerSampleBlock}`,
    );
  measured.set(geometryKey(c), bytesPerSampleBlock);
}

/** Forgets every recorded probe (tests). */
export function forgetActivationBytes(): void {
  measured.clear();
}

/** The measured cost for this geometry on the current backend, if probed. */
export function measuredActivationBytes(c: ModelConfig): number | undefined {
  return measured.get(geometryKey(c));
}

/** Overrides the detected limits (tests, benchmarks, a site that measured its own); undefined resets. */
export function setBackendLimits(limits: Partial<BackendLimits> | undefined): void {
  forced = limits;
}

interface WebGpuLike {
  device?: { limits?: { maxBufferSize?: number; maxStorageBufferBindingSize?: number } };
}

interface WasmLike {
  wasm?: { HEAPU8?: { byteLength: number } };
}

/**
 * Memory the backend holds now: on wasm the heap's size (it never shrinks, so this is the
 * high-water mark of every pass so far), else the bytes of live tensors.
 */
export function backendMemoryBytes(): number {
  if (tf.getBackend() === 'wasm') {
    const heap = (tf.backend() as unknown as WasmLike).wasm?.HEAPU8?.byteLength;
    if (heap) return heap;
  }
  return tf.memory().numBytes;
}

/** Memory limits of the current tfjs backend. */
export function backendLimits(): BackendLimits {
  const backend = tf.getBackend();
  const resident = tf.memory().numBytes;
  let budgetBytes = DEFAULT_BUDGET_BYTES;
  let maxBufferBytes = Infinity;
  if (backend === 'wasm') {
    budgetBytes = Math.min(
      DEFAULT_BUDGET_BYTES,
      Math.max(0, (WASM_HEAP_MAX_BYTES - resident) * WASM_SHARE),
    );
  } else if (backend === 'webgpu') {
    const limits = (tf.backend() as unknown as WebGpuLike).device?.limits;
    const binding = limits?.maxStorageBufferBindingSize ?? Infinity;
    maxBufferBytes = Math.min(limits?.maxBufferSize ?? Infinity, binding);
  }
  return { backend, budgetBytes, maxBufferBytes, ...forced };
}

/**
 * Estimated float32 values kept per sample per transformer block by a pass under a gradient
 * tape: ~20 L x H (LayerNorms, q/k/v/o, residuals), 4 heads x L^2 (scores, scaled, masked,
 * softmax), 6 L x mlpDim (the MLP input and the erf GELU's intermediates); times 4: twice for
 * the backward pass's gradients of the same shapes alive at its peak, and twice again because
 * probeActivationBytes (./grads.ts) measured 2.1 x the doubled count on tiny (wasm): tfjs
 * keeps more intermediates (broadcasts, reshapes, saved inputs) than the count above.
 */
export function activationFloatsPerSample(c: ModelConfig): {
  perBlock: number;
  largestTensor: number;
} {
  const L = c.maxTextLen + numPatches(c) + 1;
  const perBlock = 4 * (20 * L * c.hidden + 4 * c.numHeads * L * L + 6 * L * c.mlpDim);
  return { perBlock, largestTensor: Math.max(c.numHeads * L * L, L * c.mlpDim) };
}

/**
 * Largest number of samples (>= 1) whose pass through `blocks` blocks fits the limits, from
 * the probed cost when one was recorded for this geometry and backend, else the estimate. With
 * `backward: false` (inference inside one tf.tidy, which keeps every intermediate until it
 * ends) the forward's half of the estimate.
 */
export function autoMicroBatchSize(
  c: ModelConfig,
  blocks: number,
  limits: BackendLimits = backendLimits(),
  opts: { backward?: boolean } = {},
): number {
  const { perBlock, largestTensor } = activationFloatsPerSample(c);
  const perBlockBytes = measuredActivationBytes(c) ?? 4 * perBlock;
  const perSample = (perBlockBytes * Math.max(1, blocks)) / (opts.backward === false ? 2 : 1);
  const byBudget = Math.floor(limits.budgetBytes / perSample);
  const byBuffer = Math.floor(limits.maxBufferBytes / (4 * largestTensor));
  return Math.max(1, Math.min(byBudget, byBuffer));
}
