// Node-only helpers of @focus-fl/core (not browser-safe).
export * from './backend.js';
export * from './assets.js';
