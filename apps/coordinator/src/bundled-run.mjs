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
// Usage: node apps/coordinator/src/bundled-run.mjs <entry.ts> [args...]
import { createHash } from 'node:crypto';
import {
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  renameSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
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

/** esbuild plugin: npm packages external by absolute path; import.meta.url per source file. */
function sourcePlugin() {
  return {
    name: 'focus-fl-source',
    setup(build) {
      build.onResolve({ filter: /^[^./]/ }, async (args) => {
        if (args.path.startsWith('node:') || args.pluginData?.inner) return undefined;
        if (args.path.startsWith('@focus-fl/')) return undefined; // workspace sources: bundled
        const r = await build.resolve(args.path, {
          kind: args.kind,
          resolveDir: args.resolveDir,
          importer: args.importer,
          pluginData: { inner: true },
        });
        if (r.errors.length > 0) return { errors: r.errors };
        // A Node built-in without the node: prefix resolves to itself.
        if (!r.path.startsWith('/')) return { path: args.path, external: true };
        return { path: r.path, external: true };
      });
      build.onLoad({ filter: /\.(ts|mts)$/ }, (args) => {
        if (args.path.includes('/node_modules/')) return undefined;
        const src = readFileSync(args.path, 'utf8');
        const url = JSON.stringify(pathToFileURL(args.path).href);
        return { contents: src.replaceAll('import.meta.url', url), loader: 'ts' };
      });
    },
  };
}

/** Builds the bundle (content-addressed under the temp dir); returns entry -> bundled file. */
async function bundle(entry) {
  const { build } = await import('esbuild');
  const entries = [entry, ...workerEntries(entry).filter((e) => e !== entry)];
  const outdir = join(tmpdir(), 'focus-fl-bundle-build');
  const result = await build({
    entryPoints: entries,
    bundle: true,
    splitting: true,
    format: 'esm',
    platform: 'node',
    target: 'node20',
    outdir,
    outbase: resolve(here, '../../..'),
    entryNames: '[dir]/[name]',
    write: false,
    logLevel: 'silent',
    plugins: [sourcePlugin()],
  });
  const hash = createHash('sha256');
  for (const f of result.outputFiles) hash.update(relative(outdir, f.path)).update(f.contents);
  const dir = join(tmpdir(), `focus-fl-bundle-${hash.digest('hex').slice(0, 16)}`);
  if (!existsSync(dir)) {
    // Written beside, then renamed: concurrent runs never see a half-written bundle.
    const tmp = `${dir}.${process.pid}.tmp`;
    for (const f of result.outputFiles) {
      const out = join(tmp, relative(outdir, f.path));
      mkdirSync(dirname(out), { recursive: true });
      writeFileSync(out, f.contents);
    }
    try {
      renameSync(tmp, dir);
    } catch (e) {
      if (!existsSync(dir)) throw e;
    }
  }
  const root = resolve(here, '../../..');
  const bundled = (e) => join(dir, relative(root, e)).replace(/\.(ts|mts)$/, '.js');
  return Object.fromEntries(
    entries.map((e) => [pathToFileURL(e).href, pathToFileURL(bundled(e)).href]),
  );
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
