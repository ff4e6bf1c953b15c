// The wasm backend in a real (cross-origin-isolated) tab runs tfjs-backend-wasm's threaded
// SIMD build, whose memory is shared; core's SIMD kernels (batched products of attention, erf
// and exp: packages/core/src/model/wasm-kernels.ts) then run on that shared memory. LNTK
// scores and a few training steps on wasm must match the cpu backend, as webgpu's do
// (webgpu.e2e.ts).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import type { WorkerApi } from '../apps/browser-client/src/api.js';
import { launch, siteContext, watch } from '@focus-fl/testkit/browser';
import { tinyCheckpoint } from '@focus-fl/testkit/model';
import { serveClient, type StaticServer } from '@focus-fl/testkit/static';

/** float32 on different kernels (wasm vs cpu): same math, sums reordered (webgpu.e2e.ts). */
const SCORE_TOL = 1e-5;
const LOSS_TOL = 1e-4;
const DELTA_REL_TOL = 2e-3;

interface Run {
  backend: string;
  isolated: boolean;
  scores: number[];
  loss: number;
  deltas: Record<string, number[]>;
}

async function runOnPage(page: Page, origin: string): Promise<Run> {
  return page.evaluate(async (origin) => {
    const w = (window as unknown as { focusSite: { worker: WorkerApi } }).focusSite.worker;
    const info = await w.loadModel(`${origin}/model/base.safetensors`);
    const layers: string[] = info.layers;
    // Every block trained: the backward pass runs through all of attention and GELU.
    const r = await w.train(layers, {
      round: 1,
      steps: 3,
      batchSize: 8,
      lr: 1e-3,
      weightDecay: 0.01,
      seed: 5,
    });
    const scores: number[] = (await w.computeScores({ method: 'lntk', round: 1, seed: 1, layers }))
      .scores;
    const deltas: Record<string, number[]> = {};
    for (const [k, v] of Object.entries(r.deltas)) deltas[k] = Array.from(v.data);
    return {
      backend: document.body.dataset.backend ?? '',
      isolated: crossOriginIsolated,
      scores,
      loss: r.metrics.loss,
      deltas,
    };
  }, origin);
}

describe('wasm worker (threaded SIMD build)', () => {
  let server: StaticServer;
  let browser: Browser;

  beforeAll(async () => {
    server = await serveClient(tinyCheckpoint());
    browser = await launch();
  });
  afterAll(async () => {
    await browser?.close();
    await server?.close();
  });

  it('matches cpu on LNTK and training steps', async () => {
    const query = 'synthetic=oct&seed=3&scale=0&floor=40';
    const pages: Page[] = [];
    for (const extra of ['&backend=wasm', '&backend=cpu']) {
      const page = await (await siteContext(browser)).newPage();
      watch(page, extra.slice('&backend='.length));
      await page.goto(`${server.origin}/client/?${query}${extra}`);
      await page.waitForSelector('body[data-ready="1"]', { timeout: 60_000 });
      pages.push(page);
    }
    const wasm = await runOnPage(pages[0], server.origin);
    const cpu = await runOnPage(pages[1], server.origin);
    expect(wasm.backend).toBe('wasm');
    expect(cpu.backend).toBe('cpu');
    expect(wasm.isolated).toBe(true); // the threaded build's shared memory

    const scoreDiff = Math.max(...wasm.scores.map((s, i) => Math.abs(s - cpu.scores[i])));
    expect(cpu.scores.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 5);
    expect(scoreDiff).toBeLessThan(SCORE_TOL);
    expect(Math.abs(wasm.loss - cpu.loss)).toBeLessThan(LOSS_TOL);
    let maxDiff = 0;
    let maxRef = 0;
    for (const [k, ref] of Object.entries(cpu.deltas)) {
      ref.forEach((b, i) => {
        maxDiff = Math.max(maxDiff, Math.abs(wasm.deltas[k][i] - b));
        maxRef = Math.max(maxRef, Math.abs(b));
      });
    }
    expect(maxRef).toBeGreaterThan(0);
    console.log(
      `[wasm] score diff ${scoreDiff.toExponential(2)}, loss diff ${Math.abs(wasm.loss - cpu.loss).toExponential(2)}, delta diff ${(maxDiff / maxRef).toExponential(2)} of max ${maxRef.toExponential(2)}`,
    );
    expect(maxDiff / maxRef).toBeLessThan(DELTA_REL_TOL);
  });
});
