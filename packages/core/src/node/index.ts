// Public API of core/node (owned by the node work; see docs/interfaces.md).
export {};
