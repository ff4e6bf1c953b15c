// Public API of core/model (docs/interfaces.md).
export * from './config.js';
export * from './tokenizer.js';
export type { VqaBatch, HiddenState, EmbedOptions } from './forward.js';
export * from './params.js';
export * from './flops.js';
export { useExplicitMatMulGradient } from './matmul-grad.js';
export {
  useWasmKernels,
  useFusedKernels,
  fusedKernelCalls,
  simdBatchMatMulCalls,
  simdErfKernelCalls,
  simdExpKernelCalls,
} from './wasm-kernels.js';
export * from './batch.js';
export * from './vqa-model.js';
export * from './quantize.js';
export * from './safetensors.js';
export * from './checkpoint.js';
export * from './hf-vilt.js';
export * from './int8-store.js';
export * from './int8-matmul.js';
export * from './int8-matmul-check.js';
