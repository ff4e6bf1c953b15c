// Browser-safe public API of @focus-fl/core. Node-only helpers live in '@focus-fl/core/node'.
export * from './tensors/named.js';
export * from './random.js';
