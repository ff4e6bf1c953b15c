// tfjs backends for Node (tests, simulator, CLI): 'wasm' (SIMD, ~3x faster than cpu here,
// multi-threaded when cross-origin isolated) or pure-JS 'cpu'. tfjs-node cannot install on these machines.
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import * as tf from '@tensorflow/tfjs';
import { setWasmPaths } from '@tensorflow/tfjs-backend-wasm';
import { installWasmKernels } from '../model/wasm-kernels.js';

export type NodeBackend = 'wasm' | 'cpu';

let wasmPathsSet = false;

/** Selects (and initialises) the backend; returns the name tfjs reports. */
export async function initNodeBackend(name: NodeBackend = 'wasm'): Promise<string> {
  if (name !== 'wasm' && name !== 'cpu')
    throw new Error(`initNodeBackend: backend must be 'wasm' or 'cpu', got "${String(name)}"`);
  if (name === 'wasm' && !wasmPathsSet) {
    const require = createRequire(import.meta.url);
    const dist = join(
      dirname(require.resolve('@tensorflow/tfjs-backend-wasm/package.json')),
      'dist',
    );
    // Node's fetch cannot read file:// URLs; the wasm loader then falls back to fs with a path.
    setWasmPaths(dist + '/');
    void pathToFileURL;
    wasmPathsSet = true;
  }
  installWasmKernels();
  const ok = await tf.setBackend(name);
  if (!ok) throw new Error(`initNodeBackend: tfjs could not initialise the "${name}" backend`);
  await tf.ready();
  return tf.getBackend();
}
