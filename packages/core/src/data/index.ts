// Public API of core/data (owned by the data work; see docs/interfaces.md).
export {};
