// Public API of core/model (owned by the model work; see docs/interfaces.md).
export {};
