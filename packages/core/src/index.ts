export * from './tensors/named.js';
export * from './random.js';
