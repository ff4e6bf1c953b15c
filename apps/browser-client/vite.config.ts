// The site page. Served by the coordinator at /client/ (base) and buildable on its own:
// `pnpm --filter @focus-fl/browser-client build` -> dist/.
import { defineConfig, type Plugin } from 'vite';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = dirname(fileURLToPath(import.meta.url));
const require = createRequire(import.meta.url);
const wasmDist = dirname(require.resolve('@tensorflow/tfjs-backend-wasm/package.json')) + '/dist';
const WASM_FILES = [
  'tfjs-backend-wasm.wasm',
  'tfjs-backend-wasm-simd.wasm',
  'tfjs-backend-wasm-threaded-simd.wasm',
];

/**
 * tfjs-backend-wasm fetches its .wasm binaries at runtime from the folder given to
 * setWasmPaths; the worker points it at `<base>wasm/`. Copy them into the build, and serve
 * them from node_modules during `vite dev`.
 */
function tfjsWasmFiles(): Plugin {
  return {
    name: 'focus-fl:tfjs-wasm-files',
    generateBundle() {
      for (const f of WASM_FILES) {
        this.emitFile({
          type: 'asset',
          fileName: `wasm/${f}`,
          source: readFileSync(join(wasmDist, f)),
        });
      }
    },
    configureServer(server) {
      server.middlewares.use((req, res, next) => {
        const m = /\/wasm\/(tfjs-backend-wasm[a-z-]*\.wasm)$/.exec(req.url ?? '');
        if (!m || !WASM_FILES.includes(m[1])) return next();
        res.setHeader('Content-Type', 'application/wasm');
        res.end(readFileSync(join(wasmDist, m[1])));
      });
    },
  };
}

/** Cross-origin isolation lets the wasm backend use threads (SharedArrayBuffer). */
const isolation = {
  'Cross-Origin-Opener-Policy': 'same-origin',
  'Cross-Origin-Embedder-Policy': 'require-corp',
};

export default defineConfig({
  root,
  base: '/client/',
  plugins: [tfjsWasmFiles()],
  worker: { format: 'es' },
  build: { outDir: 'dist', emptyOutDir: true, target: 'es2022', chunkSizeWarningLimit: 4096 },
  server: { headers: isolation },
  preview: { headers: isolation },
});
