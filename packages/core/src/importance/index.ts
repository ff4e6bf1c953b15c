// Public API of core/importance (owned by the importance work; see docs/interfaces.md).
export {};
