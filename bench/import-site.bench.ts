// A full-size site in one tab (`pnpm bench import-site`, not CI): a MedMNIST+ file at 64 px
// (OCTMNIST layout; 5,000 and 20,000 images, 20 and 78 MiB .npz) is imported through the page
// (streamed to IndexedDB, resized to the model's 28 px input), then the worker runs one
// federated round's local work from IndexedDB: model load, LNTK scores, local training
// (DEFAULT_CONFIG steps x batch) and the held-out evaluation of the whole test split. Tab memory
// (page + worker: JS heaps and wasm memories) is sampled every 250 ms with
// performance.measureUserAgentSpecificMemory(); the growth of the peak from the small to the
// large site is compared with what holding the samples as one tensor costs per sample.
import { writeFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { BenchResult } from './types.js';
import type { WorkerApi } from '../apps/browser-client/src/api.js';
import buildPages from '../e2e/global-setup.js';
import { launch } from '@focus-fl/testkit/browser';
import { tinyCheckpoint } from '@focus-fl/testkit/model';
import { serveClient } from '@focus-fl/testkit/static';
import { writeMedMnistNpz } from '../packages/core/src/data/index.js';
import { mulberry32 } from '../packages/core/src/random.js';
import { DEFAULT_CONFIG } from '../apps/coordinator/src/config.js';

/** Two site sizes: the memory slope between them shows what grows with the data. */
const SITES = [5_000, 20_000] as const;
const SIZE = 64;

/** OCTMNIST-layout split of smooth random images (content does not matter for memory). */
function split(count: number, seed: number) {
  const rand = mulberry32(seed);
  const images = new Uint8Array(count * SIZE * SIZE);
  for (let i = 0; i < count; i++) {
    const a = rand() * 6;
    const b = rand() * 6;
    for (let p = 0; p < SIZE * SIZE; p++)
      images[i * SIZE * SIZE + p] =
        128 + Math.round(100 * Math.sin((p % SIZE) / (3 + a)) * Math.cos(p / SIZE / (3 + b)));
  }
  const labels = Uint8Array.from({ length: count }, () => Math.floor(rand() * 4));
  return { images, labels, count, size: SIZE, channels: 1 as const, labelWidth: 1 };
}

/** Imports an `images`-image site in a fresh browser and runs one round's local work. */
async function measure(
  images: number,
  origin: string,
  dir: string,
): Promise<Record<string, unknown>> {
  const file = join(dir, `octmnist_${SIZE}.npz`);
  const npz = writeMedMnistNpz({
    train: split(images * 0.7, 1),
    val: split(images * 0.1, 2),
    test: split(images * 0.2, 3),
  });
  writeFileSync(file, npz);
  // Memory measurements without waiting for the next GC (Chromium's switch for tests).
  const browser = await launch({ args: ['--enable-blink-features=ForceEagerMeasureMemory'] });
  try {
    const page = await (await browser.newContext()).newPage();
    await page.goto(`${origin}/client/?backend=wasm`);
    await page.waitForSelector('body[data-ready="1"]');
    const isolated = await page.evaluate(() => self.crossOriginIsolated);
    // Sampler of the whole tab (page + worker). A string, not a function: tsx's keepNames
    // wrappers (__name) do not exist in the page.
    await page.evaluate(`(() => {
      window.memPeak = 0;
      const tick = () => performance.measureUserAgentSpecificMemory().then(
        (m) => { window.memLast = m.bytes; window.memPeak = Math.max(window.memPeak, m.bytes); },
        (e) => { window.memErr = String(e); },
      ).then(() => setTimeout(tick, 250));
      tick();
    })()`);
    const peak = (): Promise<number> =>
      page.evaluate('window.memPeak / 2 ** 20') as Promise<number>;
    const resetPeak = (): Promise<unknown> => page.evaluate('window.memPeak = window.memLast');
    await page.waitForTimeout(1500);
    const idle = await peak();

    let t = Date.now();
    await page.setInputFiles('[data-testid=files]', file);
    await page.waitForSelector('body[data-imported]', { timeout: 1_200_000 });
    const importS = (Date.now() - t) / 1000;
    const imported = Number(await page.evaluate(() => document.body.dataset.imported));
    await page.waitForTimeout(1000);
    const importPeak = await peak();
    await resetPeak();
    const beforeRound = await peak();

    const cfg = {
      round: 1,
      steps: DEFAULT_CONFIG.steps,
      batchSize: DEFAULT_CONFIG.batchSize,
      lr: DEFAULT_CONFIG.lr,
      weightDecay: DEFAULT_CONFIG.weightDecay,
      seed: 1,
    };
    t = Date.now();
    const r = await page.evaluate(
      async ({ origin, cfg }: { origin: string; cfg: Parameters<WorkerApi['train']>[1] }) => {
        const w = (window as unknown as { focusSite: { worker: WorkerApi } }).focusSite.worker;
        const info = await w.loadModel(`${origin}/model/base.safetensors`);
        const t0 = performance.now();
        await w.computeScores({ method: 'lntk', round: 1, seed: 1, layers: info.layers });
        const t1 = performance.now();
        await w.train(info.layers.slice(-2), cfg);
        const t2 = performance.now();
        const ev = await w.evaluate();
        const t3 = performance.now();
        return { lntk: t1 - t0, train: t2 - t1, evaluate: t3 - t2, n: ev.numSamples };
      },
      { origin, cfg },
    );
    const roundS = (Date.now() - t) / 1000;
    await page.waitForTimeout(1000);
    const roundPeak = await peak();
    const err = (await page.evaluate('window.memErr')) as string | undefined;
    if (err) throw new Error(`measureUserAgentSpecificMemory failed: ${err}`);
    return {
      images,
      'npz MiB': +(npz.length / 2 ** 20).toFixed(1),
      imported,
      'import s': +importS.toFixed(1),
      'round s': +roundS.toFixed(1),
      'LNTK ms': Math.round(r.lntk),
      [`train ms (${cfg.steps} x ${cfg.batchSize})`]: Math.round(r.train),
      [`evaluate ms (held-out)`]: Math.round(r.evaluate),
      'held-out n': r.n,
      'tab MiB idle': +idle.toFixed(1),
      'tab peak MiB, import': +importPeak.toFixed(1),
      'tab MiB before round': +beforeRound.toFixed(1),
      'tab peak MiB, round (model load + LNTK + train + eval)': +roundPeak.toFixed(1),
      crossOriginIsolated: isolated,
    };
  } finally {
    await browser.close();
  }
}

export async function run(): Promise<BenchResult> {
  buildPages();
  const dir = mkdtempSync(join(tmpdir(), 'focus-fl-bench-'));
  const server = await serveClient(tinyCheckpoint());
  const rows: Record<string, unknown>[] = [];
  try {
    for (const n of SITES) rows.push(await measure(n, server.origin, dir));
  } finally {
    await server.close();
  }
  const [small, big] = rows;
  const key = 'tab peak MiB, round (model load + LNTK + train + eval)';
  const perSampleKiB = ((Number(big[key]) - Number(small[key])) * 1024) / (SITES[1] - SITES[0]);
  // What the pre-streaming worker held per training sample: the sample object (28 x 28 grey
  // bytes) plus its row of the all-samples float32 image tensor (28 x 28 x 3 x 4 bytes).
  const oldPerSampleKiB = (28 * 28 + 28 * 28 * 3 * 4) / 1024;
  return {
    name: 'import-site',
    rows,
    notes: [
      `round peak grows ${perSampleKiB.toFixed(2)} KiB per extra sample from ${SITES[0]} to ${SITES[1]} images; holding all training samples as one tensor (the path before streaming) costs ${oldPerSampleKiB.toFixed(1)} KiB per training sample, ${((0.8 * SITES[1] * oldPerSampleKiB) / 1024).toFixed(0)} MiB at ${SITES[1]} images`,
      'peak = max of performance.measureUserAgentSpecificMemory() (page + worker: JS heaps, the tfjs wasm heap, codec heaps) sampled every 250 ms with ForceEagerMeasureMemory; the round peak is reset after the import',
      'the import peak includes the .npz held while it is unzipped and parsed (fflate unzipSync needs the whole file); samples are generated and committed 256 at a time',
      'MedMNIST+ 64 px images stored at the tiny model input, 28 px; backend wasm; each size in a fresh browser; one 2-core machine',
    ],
  };
}
