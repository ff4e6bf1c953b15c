import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
export const CLIENT_DIR = join(ROOT, 'apps/browser-client');
export const CLIENT_DIST = join(CLIENT_DIR, 'dist');
export const DASHBOARD_DIR = join(ROOT, 'apps/coordinator/dashboard');
export const DASHBOARD_DIST = join(DASHBOARD_DIR, 'dist');
export const ARTIFACTS = join(ROOT, 'e2e/artifacts');
