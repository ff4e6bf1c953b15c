// tfjs backend choice inside the worker: webgpu -> webgl -> wasm -> cpu by feature detection,
// or one forced backend (tests, `?backend=`), which then must work or the page says why.
import * as tf from '@tensorflow/tfjs';
import { setWasmPaths } from '@tensorflow/tfjs-backend-wasm';
import { BACKEND_ORDER, type BackendInfo, type BackendName } from './api.js';

async function available(b: BackendName): Promise<string | null> {
  if (b === 'webgpu') {
    const gpu = (navigator as Navigator & { gpu?: { requestAdapter(): Promise<unknown> } }).gpu;
    if (!gpu) return 'navigator.gpu is missing (WebGPU not enabled)';
    // No adapter probe of our own: tfjs requests its adapter in setBackend and refuses if there
    // is none. (A second, dropped adapter in the same worker lost the device in Chromium 156.)
    await import('@tensorflow/tfjs-backend-webgpu');
  }
  if (b === 'webgl') {
    if (typeof OffscreenCanvas === 'undefined') return 'no OffscreenCanvas in workers';
    const gl = new OffscreenCanvas(1, 1).getContext('webgl2');
    if (!gl) return 'no WebGL2 context';
  }
  return null;
}

/**
 * Initialises the first backend that works. `wasmBase` is the folder holding the
 * tfjs-backend-wasm .wasm files (vite.config.ts copies them to `<base>wasm/`).
 */
export async function initBackend(
  forced: BackendName | undefined,
  wasmBase: string,
): Promise<BackendInfo> {
  setWasmPaths(wasmBase);
  const order = forced ? [forced] : BACKEND_ORDER;
  const skipped: string[] = [];
  for (const b of order) {
    try {
      const why = await available(b);
      if (why) {
        skipped.push(`${b}: ${why}`);
        continue;
      }
      if (await tf.setBackend(b)) {
        await tf.ready();
        // A tiny op proves the backend really runs (a broken GPU stack fails here, not later).
        const v = tf.tidy(() => tf.add(tf.scalar(1), tf.scalar(2)).dataSync()[0]);
        if (v !== 3) throw new Error(`1 + 2 gave ${v}`);
        return { backend: b, skipped, crossOriginIsolated: self.crossOriginIsolated === true };
      }
      skipped.push(`${b}: setBackend refused`);
    } catch (e) {
      skipped.push(`${b}: ${(e as Error).message}`);
    }
  }
  throw new Error(
    forced
      ? `forced backend ${forced} is not available here: ${skipped.join('; ')}`
      : `no tfjs backend works here: ${skipped.join('; ')}`,
  );
}
