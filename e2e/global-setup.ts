// Builds the site page and the dashboard before the e2e run when their sources are newer
// than the build (a clean clone builds once; later runs skip it).
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, statSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import {
  ARTIFACTS,
  CLIENT_DIR,
  CLIENT_DIST,
  DASHBOARD_DIR,
  DASHBOARD_DIST,
  ROOT,
} from '@focus-fl/testkit/paths';

function newest(dir: string): number {
  let t = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    if (e.name === 'node_modules' || e.name === 'dist') continue;
    const p = join(dir, e.name);
    t = Math.max(t, e.isDirectory() ? newest(p) : statSync(p).mtimeMs);
  }
  return t;
}

function stale(src: string[], dist: string): boolean {
  const index = join(dist, 'index.html');
  if (!existsSync(index)) return true;
  const built = statSync(index).mtimeMs;
  return src.some((d) => existsSync(d) && newest(d) > built);
}

export default function setup(): void {
  mkdirSync(ARTIFACTS, { recursive: true });
  const core = join(ROOT, 'packages/core/src');
  if (stale([CLIENT_DIR, core], CLIENT_DIST)) {
    console.log('[e2e] building the site page');
    execFileSync('pnpm', ['--filter', '@focus-fl/browser-client', 'build'], {
      cwd: ROOT,
      stdio: 'inherit',
    });
  }
  if (stale([DASHBOARD_DIR], DASHBOARD_DIST)) {
    console.log('[e2e] building the dashboard');
    execFileSync('pnpm', ['--filter', '@focus-fl/coordinator', 'build'], {
      cwd: ROOT,
      stdio: 'inherit',
    });
  }
}
