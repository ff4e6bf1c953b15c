// Public API of core/site: the site's local compute, shared by the browser worker and the
// Node simulator (docs/interfaces.md, "Federated").
export * from './local-compute.js';
