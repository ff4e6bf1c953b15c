// Public API of core/federated (see docs/interfaces.md). Keep to one `export *` line per module.
export * from './aggregate.js';
export * from './codecs.js';
export * from './protocol.js';
export * from './site-client.js';
export * from './strategy.js';
export * from './strategies/index.js';
export * from './server-optimizer.js';
export * from './local-options.js';
export * from './personalization.js';
export * from './personal-mix.js';
