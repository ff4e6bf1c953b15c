// Public API of core/data (docs/interfaces.md "Data"; docs/method.md §5). Browser-safe.
export * from './types.js';
export * from './medmnist.js';
export * from './vqa.js';
export * from './synthetic.js';
export * from './npz.js';
export * from './import.js';
export * from './partition.js';
export * from './pixel-baseline.js';
export * from './resize.js';
export * from './sample-source.js';
export { crc32, centralDirectoryCrcs } from './zip-crc.js';
