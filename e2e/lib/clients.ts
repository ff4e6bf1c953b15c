// Re-export for scripts/ (the root package does not depend on @focus-fl/core; e2e does).
export { CLIENT_NAMES } from '@focus-fl/core/data';
