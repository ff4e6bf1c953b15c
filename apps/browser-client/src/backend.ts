// tfjs backend choice inside the worker. `auto`: every backend that works here (feature
// detection, then a tiny op) runs a short probe, a few training steps of the model (core
// probeStepMs), and the fastest is kept: on a machine without a real GPU the software WebGL
// or WebGPU of a headless browser is several times slower than wasm, which a fixed order would
// not know. A forced backend (tests, `?backend=`) is used as is, and then must work or the page
// says why.
import * as tf from '@tensorflow/tfjs';
import { setWasmPaths } from '@tensorflow/tfjs-backend-wasm';
import { BACKEND_ORDER, type BackendInfo, type BackendName, type BackendProbe } from './api.js';

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

/** Makes `b` the backend if it works here; returns why not otherwise. */
async function activate(b: BackendName): Promise<string | null> {
  try {
    const why = await available(b);
    if (why) return why;
    if (!(await tf.setBackend(b))) return 'setBackend refused';
    await tf.ready();
    // A tiny op proves the backend really runs (a broken GPU stack fails here, not later).
    const v = tf.tidy(() => tf.add(tf.scalar(1), tf.scalar(2)).dataSync()[0]);
    if (v !== 3) return `1 + 2 gave ${v}`;
    return null;
  } catch (e) {
    return (e as Error).message;
  }
}

/** Step ms of the probe model on the current backend; stops early once `stop()` is true. */
export type StepProbe = (stop: () => boolean) => Promise<number>;

/** Probe order: wasm first (cheap to start, sets the time budget of the others), cpu last. */
const PROBE_ORDER: readonly BackendName[] = ['wasm', 'webgpu', 'webgl', 'cpu'];

/** The probe's result, or null once `budgetMs` has passed (the probe is then told to stop). */
async function withBudget(probe: StepProbe, budgetMs: number): Promise<number | null> {
  let late = false;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const cut = new Promise<null>(
    (resolve) =>
      (timer = setTimeout(() => {
        late = true;
        resolve(null);
      }, budgetMs)),
  );
  try {
    const ms = await Promise.race([probe(() => late), cut]);
    return ms === null || Number.isNaN(ms) ? null : ms;
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Initialises a backend. `wasmBase` is the folder holding the tfjs-backend-wasm .wasm files
 * (vite.config.ts copies them to `<base>wasm/`). Without `forced`, `probe` measures each
 * working backend; a backend slower than 3x the best so far (first-step shader compilation
 * included) is cut off at that budget, so a slow software GPU costs seconds, not minutes.
 */
export async function initBackend(
  forced: BackendName | undefined,
  wasmBase: string,
  probe?: StepProbe,
): Promise<BackendInfo> {
  setWasmPaths(wasmBase);
  const crossOriginIsolated = self.crossOriginIsolated === true;
  const skipped: string[] = [];
  if (forced || !probe) {
    for (const b of forced ? [forced] : BACKEND_ORDER) {
      const why = await activate(b);
      if (!why) return { backend: b, skipped, crossOriginIsolated };
      skipped.push(`${b}: ${why}`);
    }
    throw new Error(
      forced
        ? `forced backend ${forced} is not available here: ${skipped.join('; ')}`
        : `no tfjs backend works here: ${skipped.join('; ')}`,
    );
  }
  const probes: BackendProbe[] = [];
  let best: { backend: BackendName; stepMs: number; totalMs: number } | null = null;
  for (const b of PROBE_ORDER) {
    // cpu only when nothing faster works: it is the slowest wherever the others run.
    if (b === 'cpu' && best) break;
    const why = await activate(b);
    if (why) {
      skipped.push(`${b}: ${why}`);
      continue;
    }
    const t0 = performance.now();
    const budget = best ? Math.max(2000, 3 * best.totalMs) : 120_000;
    try {
      const ms = await withBudget(probe, budget);
      const totalMs = performance.now() - t0;
      probes.push(
        ms === null
          ? { backend: b, stepMs: null, note: `probe over ${Math.round(budget)} ms, cut off` }
          : { backend: b, stepMs: ms },
      );
      if (ms !== null && (!best || ms < best.stepMs)) best = { backend: b, stepMs: ms, totalMs };
    } catch (e) {
      probes.push({ backend: b, stepMs: null, note: (e as Error).message });
    }
  }
  if (!best)
    throw new Error(
      `no tfjs backend works here: ${[...skipped, ...probes.map((p) => `${p.backend}: ${p.note}`)].join('; ')}`,
    );
  const why = await activate(best.backend);
  if (why) throw new Error(`backend ${best.backend} stopped working after its probe: ${why}`);
  return { backend: best.backend, skipped, crossOriginIsolated, probes, stepMs: best.stepMs };
}
