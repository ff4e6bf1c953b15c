// Public API of core/train (owned by the train work; see docs/interfaces.md).
export {};
