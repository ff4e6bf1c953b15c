// src/bundled-run.mjs (`pnpm simulate`'s launcher): an entry run from the esbuild bundle sees
// what it sees under tsx: its own import.meta.url, argv, npm packages from their own files
// (the wasm backend's .wasm included),
// and a worker started through tsx-worker.ts runs (bundled) with its own URL.
import { execFileSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';

const here = dirname(fileURLToPath(import.meta.url));
const entry = join(here, 'fixtures', 'bundle-entry.ts');
const runner = join(here, '..', 'src', 'bundled-run.mjs');

const run = (args: string[], env: Record<string, string> = {}) =>
  JSON.parse(
    execFileSync(process.execPath, args, {
      encoding: 'utf8',
      env: { ...process.env, FOCUS_FL_BUNDLE_MAP: '', ...env },
    })
      .trim()
      .split('\n')
      .pop()!,
  ) as {
    url: string;
    argv: string[];
    ws: string;
    open: number;
    backend: string;
    answer: { url: string; value: number };
    bundledWorker: string | null;
  };

describe('bundled-run', () => {
  it('runs an entry and its worker as tsx does', () => {
    const viaTsx = run(['--import', 'tsx', entry, 'a', '--b']);
    const bundled = run([runner, entry, 'a', '--b']);
    expect(viaTsx.bundledWorker).toBeNull();
    expect(bundled.bundledWorker).toMatch(/focus-fl-bundle-.*bundle-worker\.js$/);
    expect({ ...bundled, bundledWorker: null }).toEqual(viaTsx);
    expect(bundled.url).toBe(pathToFileURL(entry).href);
    expect(bundled.argv).toEqual([entry, 'a', '--b']);
    expect(bundled.backend).toBe('wasm');
    expect(bundled.open).toBe(1);
    expect(bundled.answer).toEqual({
      url: pathToFileURL(join(here, 'fixtures', 'bundle-worker.ts')).href,
      value: 42,
    });
  }, 60_000);
});
