// src/bundled-run.mjs (`pnpm simulate`'s launcher): an entry run from the esbuild bundle sees
// what it sees under tsx: its own import.meta.url, argv, npm packages from their own files
// (the wasm backend's .wasm included),
// and a worker started through tsx-worker.ts runs (bundled) with its own URL.
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';

const here = dirname(fileURLToPath(import.meta.url));
const entry = join(here, 'fixtures', 'bundle-entry.ts');
const runner = join(here, '..', 'src', 'bundled-run.mjs');
// Each run of this file builds into its own cache folder.
const cache = mkdtempSync(join(tmpdir(), 'bundled-run-test-'));
afterAll(() => rmSync(cache, { recursive: true, force: true }));

const run = (args: string[], env: Record<string, string> = {}) =>
  JSON.parse(
    execFileSync(process.execPath, args, {
      encoding: 'utf8',
      env: { ...process.env, FOCUS_FL_BUNDLE_MAP: '', FOCUS_FL_BUNDLE_CACHE: cache, ...env },
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
    expect(bundled.bundledWorker).toMatch(/\/bundle-[0-9a-f]{16}\/.*bundle-worker\.js$/);
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

  it('reuses a bundle while its sources are unchanged, rebuilds on a change, keeps a few', () => {
    const src = join(here, 'fixtures', `cache-${process.pid}`);
    const own = mkdtempSync(join(tmpdir(), 'bundled-run-cache-'));
    mkdirSync(src, { recursive: true });
    try {
      writeFileSync(join(src, 'entry.ts'), "import { v } from './value.js';\nconsole.log(v);\n");
      writeFileSync(join(src, 'value.ts'), 'export const v = 1;\n');
      // Bundles nobody used for an hour, and one used just now (a run may still need it).
      const hourAgo = new Date(Date.now() - 3_600_000);
      const fake = (i: number) => `bundle-${String(i).padStart(16, '0')}`;
      for (let i = 0; i < 5; i++) {
        mkdirSync(join(own, fake(i)));
        utimesSync(join(own, fake(i)), hourAgo, hourAgo);
      }
      mkdirSync(join(own, fake(9)));
      const launch = () => {
        const r = spawnSync(process.execPath, [runner, join(src, 'entry.ts')], {
          encoding: 'utf8',
          env: { ...process.env, FOCUS_FL_BUNDLE_CACHE: own, FOCUS_FL_BUNDLE_DEBUG: '1' },
        });
        expect(r.status, r.stderr).toBe(0);
        const [, how, dir] = /bundled-run: (cached|built) (\S+)/.exec(r.stderr)!;
        return { how, dir, out: r.stdout.trim() };
      };
      const first = launch();
      expect(first).toMatchObject({ how: 'built', out: '1' });
      expect(launch()).toEqual({ ...first, how: 'cached' });
      writeFileSync(join(src, 'value.ts'), 'export const v = 2;\n');
      const second = launch();
      expect(second).toMatchObject({ how: 'built', out: '2' });
      expect(second.dir).not.toBe(first.dir);
      // A new file beside a source may change how an import resolves: rebuilt too.
      writeFileSync(join(src, 'other.ts'), 'export {};\n');
      expect(launch()).toEqual({ ...second, how: 'built' });
      // Kept: the 3 most recently used (second, first, the fresh fake); the stale ones went.
      const left = readdirSync(own).filter((d) => d.startsWith('bundle-'));
      expect(left.sort()).toEqual([first.dir, second.dir, fake(9)].sort());
      // Sources older than the index (by its margin) are checked by size and mtime, not read:
      // still cached while unchanged; an edit of the same size (a new mtime) rebuilds.
      const old = new Date(Date.now() - 60_000);
      writeFileSync(join(src, 'value.ts'), 'export const v = 3;\n');
      for (const f of ['entry.ts', 'value.ts', 'other.ts']) utimesSync(join(src, f), old, old);
      const third = launch();
      expect(third).toMatchObject({ how: 'built', out: '3' });
      expect(launch()).toEqual({ ...third, how: 'cached' });
      writeFileSync(join(src, 'value.ts'), 'export const v = 4;\n');
      expect(launch()).toMatchObject({ how: 'built', out: '4' });
    } finally {
      rmSync(src, { recursive: true, force: true });
      rmSync(own, { recursive: true, force: true });
    }
  }, 60_000);
});
