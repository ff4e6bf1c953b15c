// Public API of core/federated (owned by the federated work; see docs/interfaces.md).
export {};
