// Public API of core/model (docs/interfaces.md).
export * from './config.js';
export * from './tokenizer.js';
export type { VqaBatch, HiddenState, EmbedOptions } from './forward.js';
export * from './params.js';
export * from './batch.js';
export * from './vqa-model.js';
