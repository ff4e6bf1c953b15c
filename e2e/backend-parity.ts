// Shared by the backend e2e suites (webgpu.e2e.ts, wasm-kernels.e2e.ts): the same tiny model in
// two tabs on two backends must give the same LNTK scores and the same training deltas, within
// float32 tolerances (same math, sums reordered on different kernels).
import { expect } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import type { WorkerApi } from '../apps/browser-client/src/api.js';
import { siteContext, watch } from '@focus-fl/testkit/browser';

/**
 * Measured on SwiftShader's WebGPU vs cpu: score diff 2.7e-8, loss diff 4.8e-7, relative delta
 * diff 7.8e-5; the bounds leave a wide margin (AdamW's first steps amplify rounding: step ~ g/|g|).
 */
export const SCORE_TOL = 1e-5; // scores are normalised to sum 1
export const LOSS_TOL = 1e-4;
export const DELTA_REL_TOL = 2e-3; // max |a-b| relative to max |b| over all deltas

export interface BackendRun {
  backend: string;
  isolated: boolean;
  scores: number[];
  loss: number;
  deltas: Record<string, number[]>;
  /** Weights in memory (frozen base kept int8, dequantized per use) / the same all fp32. */
  memoryRatio: number;
  deviceInt8: number;
}

/** One site page per backend (`?backend=`), each ready to train; in the order given. */
export async function openBackendPages(
  browser: Browser,
  origin: string,
  backends: readonly string[],
): Promise<Page[]> {
  const query = 'synthetic=oct&seed=3&scale=0&floor=40';
  const pages: Page[] = [];
  for (const backend of backends) {
    const page = await (await siteContext(browser)).newPage();
    watch(page, backend);
    await page.goto(`${origin}/client/?${query}&backend=${backend}`);
    await page.waitForSelector('body[data-ready="1"]', { timeout: 60_000 });
    pages.push(page);
  }
  return pages;
}

/**
 * Three training steps on the last `trainLast` layers (all of them when null), then LNTK scores
 * of every layer (after the steps: a zero-initialised head would zero every adapter's Jacobian).
 */
export async function trainAndScore(
  page: Page,
  origin: string,
  trainLast: number | null,
): Promise<BackendRun> {
  return page.evaluate(
    async ({ origin, trainLast }) => {
      const w = (window as unknown as { focusSite: { worker: WorkerApi } }).focusSite.worker;
      const info = await w.loadModel(`${origin}/model/base.safetensors`);
      const layers: string[] = info.layers;
      const trained = trainLast === null ? layers : layers.slice(-trainLast);
      const r = await w.train(trained, {
        round: 1,
        steps: 3,
        batchSize: 8,
        lr: 1e-3,
        weightDecay: 0.01,
        seed: 5,
      });
      const scores: number[] = (
        await w.computeScores({ method: 'lntk', round: 1, seed: 1, layers })
      ).scores;
      const deltas: Record<string, number[]> = {};
      for (const [k, v] of Object.entries(r.deltas)) deltas[k] = Array.from(v.data);
      return {
        backend: document.body.dataset.backend ?? '',
        isolated: crossOriginIsolated,
        scores,
        loss: r.metrics.loss,
        deltas,
        memoryRatio: info.residentBytes / info.fp32Bytes,
        deviceInt8: info.deviceInt8,
      };
    },
    { origin, trainLast },
  );
}

/** `run` equals the cpu reference `cpu` on scores, loss and deltas within the tolerances above. */
export function expectSameAsCpu(label: string, run: BackendRun, cpu: BackendRun): void {
  const scoreDiff = Math.max(...run.scores.map((s, i) => Math.abs(s - cpu.scores[i])));
  expect(cpu.scores.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 5);
  expect(scoreDiff).toBeLessThan(SCORE_TOL);
  expect(Math.abs(run.loss - cpu.loss)).toBeLessThan(LOSS_TOL);

  expect(Object.keys(run.deltas).sort()).toEqual(Object.keys(cpu.deltas).sort());
  let maxDiff = 0;
  let maxRef = 0;
  for (const [k, ref] of Object.entries(cpu.deltas)) {
    ref.forEach((b, i) => {
      maxDiff = Math.max(maxDiff, Math.abs(run.deltas[k][i] - b));
      maxRef = Math.max(maxRef, Math.abs(b));
    });
  }
  expect(maxRef).toBeGreaterThan(0); // training moved something
  console.log(
    `[${label}] score diff ${scoreDiff.toExponential(2)}, loss diff ${Math.abs(run.loss - cpu.loss).toExponential(2)}, delta diff ${(maxDiff / maxRef).toExponential(2)} of max ${maxRef.toExponential(2)}`,
  );
  expect(maxDiff / maxRef).toBeLessThan(DELTA_REL_TOL);
}
