// The site worker's tfjs backends in headless Chromium, on the `tiny` model: one training step
// (batch 8, after a warm-up step that compiles kernels/shaders) and one LNTK computation
// (16 samples, all 6 adapter layers), per backend the worker can start here.
// SwiftShader WebGPU is a CPU emulation: its numbers prove the path works,
// not how fast a GPU is.
import type { BenchResult } from './types.js';
import type { WorkerApi } from '../apps/browser-client/src/api.js';
import buildPages from '../e2e/global-setup.js';
import { launch, siteContext } from '@focus-fl/testkit/browser';
import { tinyCheckpoint } from '@focus-fl/testkit/model';
import { serveClient } from '@focus-fl/testkit/static';

const BACKENDS = ['webgpu', 'webgl', 'wasm', 'cpu'] as const;

export async function run(): Promise<BenchResult> {
  buildPages();
  const server = await serveClient(tinyCheckpoint());
  const browser = await launch({ webgpu: true });
  const rows: Record<string, unknown>[] = [];
  const notes: string[] = [];
  try {
    for (const backend of BACKENDS) {
      const page = await (await siteContext(browser)).newPage();
      await page.goto(
        `${server.origin}/client/?backend=${backend}&synthetic=oct&seed=1&scale=0&floor=64`,
      );
      await page.waitForFunction(
        () => document.body.dataset.ready === '1' || document.body.dataset.error,
        null,
        {
          timeout: 120_000,
        },
      );
      const err = await page.evaluate(() => document.body.dataset.error);
      if (err) {
        notes.push(`${backend}: not available (${err.slice(0, 160)})`);
        await page.context().close();
        continue;
      }
      const r = await page.evaluate(async (origin) => {
        const w = (window as unknown as { focusSite: { worker: WorkerApi } }).focusSite.worker;
        const info = await w.loadModel(`${origin}/model/base.safetensors`);
        const cfg = { round: 1, steps: 1, batchSize: 8, lr: 1e-3, weightDecay: 0.01, seed: 1 };
        const all = info.layers as string[];
        let t = performance.now();
        await w.train(all, cfg);
        const coldStep = performance.now() - t;
        t = performance.now();
        await w.train(all, { ...cfg, seed: 2 });
        const step = performance.now() - t;
        t = performance.now();
        await w.computeScores({ method: 'lntk', round: 1, seed: 1, layers: all });
        const lntk = performance.now() - t;
        return { coldStep, step, lntk, isolated: self.crossOriginIsolated };
      }, server.origin);
      rows.push({
        backend,
        'train step ms (warm, all 6 adapters + head, batch 8)': Math.round(r.step),
        'first step ms (compile)': Math.round(r.coldStep),
        'LNTK ms (16 samples, 6 layers)': Math.round(r.lntk),
        crossOriginIsolated: r.isolated,
      });
      await page.context().close();
    }
  } finally {
    await browser.close();
    await server.close();
  }
  notes.push(
    'train step = worker.train() with steps=1: includes encoding the local batch, the step and a 64-sample local evaluation',
    'webgpu here is SwiftShader (CPU emulation); this launch also puts ANGLE on SwiftShader, so webgl is SwiftShader too (the federation e2e, without WebGPU flags, runs webgl on lavapipe)',
    'all backends ran one after another in one browser on a 2-core machine',
  );
  return { name: 'browser', rows, notes };
}
