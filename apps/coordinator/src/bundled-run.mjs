// Runs a TypeScript entry of this repository (`pnpm simulate`: simulate.ts) as an esbuild
// bundle instead of through tsx's loader. tsx resolves and loads each of the ~300 modules of
// the simulator through Node's loader hooks, ~1.3 CPU-s before the first round in every
// process and in every site thread; the bundle loads in ~0.1 s (bench/simulate.bench.ts).
//
// What the bundle keeps exact:
// - npm packages stay outside it, imported from the file Node itself would load (resolved by
//   esbuild from the importing source file, then referenced by absolute path), so the
//   packages' own files (tfjs's .wasm, native addons) are found as before;
// - each source file's `import.meta.url` is its own file's URL, as under tsx (asset paths,
//   worker entries, the entry's "am I the main module" test);
// - worker threads started through tsx-worker.ts run their bundled entry (the map of source
//   entry -> bundled file is passed in FOCUS_FL_BUNDLE_MAP).
// If esbuild is missing or the build fails, the entry runs through tsx as before.
//
// Bundles are cached under node_modules/.cache/focus-fl-bundle (FOCUS_FL_BUNDLE_CACHE to
// override): a run whose sources are unchanged (same contents, same file names in their
// folders, same lockfile and launcher) starts from the last bundle without running esbuild
// (~0.3 CPU-s less per `pnpm simulate`); a source whose size and mtime are those recorded at
// the build is not read again (sourceState); only the few most recently used bundles are kept.
//
// Usage: node apps/coordinator/src/bundled-run.mjs <entry.ts> [args...]
import { createHash } from 'node:crypto';
import {
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { setInterval } from 'node:timers';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));

/** Worker entries bundled with an entry: every *-worker.ts beside it and in this app's src/
 * (the simulator's site threads, the solver's worker). */
function workerEntries(entry) {
  const dirs = [...new Set([dirname(entry), here])];
  return dirs.flatMap((d) =>
    readdirSync(d)
      .filter((f) => /-worker\.ts$/.test(f))
      .map((f) => join(d, f)),
  );
}

/** esbuild namespace of the CommonJS npm files, and the require function that loads them. */
const CJS = 'focus-fl-cjs';
const REQUIRE = '__focusFlRequire';
const BANNER = `import { createRequire as __focusFlCreateRequire } from 'node:module';\nconst ${REQUIRE} = __focusFlCreateRequire(import.meta.url);`;

/** Whether Node loads this file as CommonJS (its extension, else its package's "type"). */
function isCommonJs(file) {
  if (/\.(cjs|node|json)$/.test(file)) return true;
  if (!/\.js$/.test(file)) return false;
  for (let d = dirname(file); ; d = dirname(d)) {
    const pkg = join(d, 'package.json');
    if (existsSync(pkg)) return JSON.parse(readFileSync(pkg, 'utf8')).type !== 'module';
    if (dirname(d) === d) return true;
  }
}

/**
 * npm packages bundled like the sources instead of loaded by Node: pure-JS ESM packages that
 * read no file of their own (no import.meta, no assets) and whose instances only the sources
 * share. typebox is ~700 ESM files; Node's loader resolves, reads and compiles each of them
 * in every process and site thread (~0.15 CPU-s, bench/simulate.bench.ts), esbuild once.
 */
const INLINE_PACKAGES = /^typebox(\/|$)/;

/** esbuild plugin: npm packages external by absolute path (CommonJS ones required), except
 * INLINE_PACKAGES; import.meta.url per source file. */
function sourcePlugin() {
  return {
    name: 'focus-fl-source',
    setup(build) {
      build.onResolve({ filter: /^[^./]/ }, async (args) => {
        if (args.path.startsWith('node:') || args.pluginData?.inner) return undefined;
        if (args.path.startsWith('@focus-fl/')) return undefined; // workspace sources: bundled
        if (INLINE_PACKAGES.test(args.path)) return undefined; // bundled too (INLINE_PACKAGES)
        const r = await build.resolve(args.path, {
          kind: args.kind,
          resolveDir: args.resolveDir,
          importer: args.importer,
          pluginData: { inner: true },
        });
        if (r.errors.length > 0) return { errors: r.errors };
        // A Node built-in without the node: prefix resolves to itself.
        if (!r.path.startsWith('/')) return { path: args.path, external: true };
        if (isCommonJs(r.path)) return { path: r.path, namespace: CJS };
        return { path: r.path, external: true };
      });
      // A CommonJS package is required (through the banner's createRequire), not imported:
      // Node's ESM loader scans a CommonJS file and every file it re-exports for its export
      // names (cjs-module-lexer), 0.4 CPU-s for @tensorflow/tfjs's, against 0.15 s for a
      // require. The module is the same instance either way (Node's require cache), and in
      // these "type": "module" packages esbuild gives `import x from` module.exports, as Node
      // does.
      build.onLoad({ filter: /.*/, namespace: CJS }, (args) => ({
        contents: `module.exports = ${REQUIRE}(${JSON.stringify(args.path)});`,
        loader: 'js',
      }));
      build.onLoad({ filter: /\.(ts|mts)$/ }, (args) => {
        if (args.path.includes('/node_modules/')) return undefined;
        const src = readFileSync(args.path, 'utf8');
        const url = JSON.stringify(pathToFileURL(args.path).href);
        return { contents: src.replaceAll('import.meta.url', url), loader: 'ts' };
      });
    },
  };
}

const root = resolve(here, '../../..');
/** Where bundles live: node_modules/.cache (ignored by git, removed with node_modules), or
 * FOCUS_FL_BUNDLE_CACHE. Each bundle is a folder `bundle-<hash of its files>`. */
const cacheRoot =
  process.env.FOCUS_FL_BUNDLE_CACHE || join(root, 'node_modules', '.cache', 'focus-fl-bundle');
/** Bundles kept besides the one in use; older ones unused for KEEP_MS are removed. */
const KEEP = 3;
const KEEP_MS = 10 * 60_000;

const sha = (data) => createHash('sha256').update(data).digest('hex');

/**
 * What a bundle depends on besides its sources' contents: this launcher, the lockfile (the
 * npm packages it references by path) and the entries bundled with it.
 */
function bundleKey(entries) {
  const lock = join(root, 'pnpm-lock.yaml');
  return sha(
    JSON.stringify([
      readFileSync(fileURLToPath(import.meta.url), 'utf8'),
      existsSync(lock) ? sha(readFileSync(lock)) : '',
      entries,
    ]),
  );
}

/** The state a bundle was built from: each source's content hash, and the file names of each
 * folder holding one (a file added beside a source can change how an import resolves).
 * `known`: the stat (size, mtime) and hash of each file when an index was written; a file
 * with the same size and mtime, older than that index by STAT_MARGIN_MS, is not read again
 * (as make and git's index do; a file changed within the margin of a build is hashed). */
function sourceState(inputs, known = null) {
  const files = {};
  for (const f of inputs) {
    const st = statSync(f, { throwIfNoEntry: false });
    const k = known?.stats?.[f];
    files[f] = !st
      ? null
      : k &&
          k.size === st.size &&
          k.mtimeMs === st.mtimeMs &&
          st.mtimeMs < known.at - STAT_MARGIN_MS
        ? k.sha
        : sha(readFileSync(f));
  }
  const dirs = {};
  for (const d of new Set(inputs.map((f) => dirname(f))))
    dirs[d] = existsSync(d) ? sha(readdirSync(d).sort().join('\n')) : null;
  return { files, dirs };
}

const sameState = (a, b) => JSON.stringify(a) === JSON.stringify(b);

/** A source modified this close before an index was written is hashed on every check. */
const STAT_MARGIN_MS = 2000;

/** Each input's size, mtime and hash (in `state`), and when: the index's `known`. */
function knownStats(inputs, state) {
  const stats = {};
  for (const f of inputs) {
    const st = statSync(f, { throwIfNoEntry: false });
    if (st && state.files[f])
      stats[f] = { size: st.size, mtimeMs: st.mtimeMs, sha: state.files[f] };
  }
  return { at: Date.now(), stats };
}

/** The bundle built for these entries earlier, if no source of it changed since. */
function cachedBundle(indexFile) {
  try {
    const index = JSON.parse(readFileSync(indexFile, 'utf8'));
    if (!existsSync(join(cacheRoot, index.dir))) return null;
    const inputs = Object.keys(index.state.files);
    return sameState(sourceState(inputs, index.known), index.state) ? index.dir : null;
  } catch {
    return null;
  }
}

/** Writes a file beside, then renames it: concurrent runs never read a half-written one. */
function writeAtomic(file, contents) {
  const tmp = `${file}.${process.pid}.tmp`;
  writeFileSync(tmp, contents);
  renameSync(tmp, file);
}

/** Removes bundles beyond the KEEP most recently used ones that no run used for KEEP_MS (a run
 * still going may start a worker from its bundle), and the temp-dir bundles of earlier
 * versions of this launcher (`<tmpdir>/focus-fl-bundle-<16 hex>`) older than an hour. */
function pruneBundles(current) {
  const now = Date.now();
  const stale = (p, ms) => {
    try {
      return now - statSync(p).mtimeMs > ms;
    } catch {
      return false;
    }
  };
  const ours = readdirSync(cacheRoot)
    .filter((d) => /^bundle-[0-9a-f]{16}$/.test(d) && d !== current)
    .map((d) => ({ p: join(cacheRoot, d), t: statSync(join(cacheRoot, d)).mtimeMs }))
    .sort((a, b) => b.t - a.t);
  const old = readdirSync(tmpdir())
    .filter((d) => /^focus-fl-bundle-[0-9a-f]{16}$/.test(d))
    .map((d) => ({ p: join(tmpdir(), d) }));
  for (const { p } of ours.slice(KEEP - 1))
    if (stale(p, KEEP_MS)) rmSync(p, { recursive: true, force: true });
  // Those folders' times are their creation, not their last use: an hour's margin.
  for (const { p } of old) if (stale(p, 6 * KEEP_MS)) rmSync(p, { recursive: true, force: true });
}

/** Builds the bundle, or reuses the one built from the same sources; returns entry ->
 * bundled file. */
async function bundle(entry) {
  const entries = [entry, ...workerEntries(entry).filter((e) => e !== entry)];
  const indexFile = join(cacheRoot, `index-${bundleKey(entries).slice(0, 16)}.json`);
  const cached = cachedBundle(indexFile);
  const dir = cached ?? (await build(entries, indexFile));
  if (process.env.FOCUS_FL_BUNDLE_DEBUG)
    console.error(`bundled-run: ${cached ? 'cached' : 'built'} ${dir}`);
  // The folder's time is its last use (pruneBundles keeps recently used ones), refreshed
  // while this run lasts: it may still load a chunk or start a worker from it much later.
  const touch = () => {
    const now = new Date();
    try {
      utimesSync(join(cacheRoot, dir), now, now);
    } catch {
      // Gone (removed by hand): nothing to keep fresh.
    }
  };
  touch();
  setInterval(touch, KEEP_MS / 4).unref();
  const bundled = (e) => join(cacheRoot, dir, relative(root, e)).replace(/\.(ts|mts)$/, '.js');
  return Object.fromEntries(
    entries.map((e) => [pathToFileURL(e).href, pathToFileURL(bundled(e)).href]),
  );
}

/** Runs esbuild; writes the bundle (content-addressed) and its index; returns its folder name. */
async function build(entries, indexFile) {
  const { build: esbuild } = await import('esbuild');
  const outdir = join(cacheRoot, 'build');
  const result = await esbuild({
    entryPoints: entries,
    bundle: true,
    splitting: true,
    format: 'esm',
    platform: 'node',
    target: 'node20',
    outdir,
    outbase: root,
    entryNames: '[dir]/[name]',
    write: false,
    metafile: true,
    banner: { js: BANNER },
    logLevel: 'silent',
    plugins: [sourcePlugin()],
  });
  const hash = createHash('sha256');
  for (const f of result.outputFiles) hash.update(relative(outdir, f.path)).update(f.contents);
  const name = `bundle-${hash.digest('hex').slice(0, 16)}`;
  const dir = join(cacheRoot, name);
  mkdirSync(cacheRoot, { recursive: true });
  if (!existsSync(dir)) {
    // Written beside, then renamed: concurrent runs never see a half-written bundle.
    const tmp = `${dir}.${process.pid}.tmp`;
    // ESM whatever the folder above says.
    mkdirSync(tmp, { recursive: true });
    writeFileSync(join(tmp, 'package.json'), '{ "type": "module" }\n');
    for (const f of result.outputFiles) {
      const out = join(tmp, relative(outdir, f.path));
      mkdirSync(dirname(out), { recursive: true });
      writeFileSync(out, f.contents);
    }
    try {
      renameSync(tmp, dir);
    } catch (e) {
      rmSync(tmp, { recursive: true, force: true });
      if (!existsSync(dir)) throw e;
    }
  }
  const inputs = Object.keys(result.metafile.inputs)
    .map((f) => resolve(process.cwd(), f))
    .sort();
  const state = sourceState(inputs);
  writeAtomic(indexFile, JSON.stringify({ dir: name, state, known: knownStats(inputs, state) }));
  pruneBundles(name);
  return name;
}

const [entryArg, ...rest] = process.argv.slice(2);
if (!entryArg) {
  console.error('usage: node bundled-run.mjs <entry.ts> [args...]');
  process.exit(2);
}
const entry = resolve(entryArg);
// The entry sees the argv it would see under `node --import tsx entry.ts args...`.
process.argv = [process.argv[0], entry, ...rest];
let map;
try {
  map = await bundle(entry);
} catch (e) {
  if (process.env.FOCUS_FL_BUNDLE_DEBUG) console.error('bundled-run: falling back to tsx:', e);
}
if (map) {
  process.env.FOCUS_FL_BUNDLE_MAP = JSON.stringify(map);
  await import(map[pathToFileURL(entry).href]);
} else {
  const { register } = await import('tsx/esm/api');
  register();
  await import(pathToFileURL(entry).href);
}
