// Resident memory of the base model in a browser tab, frozen weights int8 in memory vs the fp32
// path (the same int8 checkpoint dequantized once at load), for tiny and vilt-b32 (random
// init; the geometry of dandelin/vilt-b32), on the wasm and webgpu backends of the site
// worker. One fresh headless Chromium per measurement (a wasm heap never shrinks), the base
// served as the coordinator serves it and loaded by the worker (download, Cache API, parse),
// without the activation probe. Measured before and after the load, after a full GC:
// - the browser's processes: the sum of their PSS (/proc/PID/smaps_rollup) — what the OS sees;
//   for webgpu on SwiftShader the "GPU" memory lives in the GPU process, counted here;
// - performance.measureUserAgentSpecificMemory() (JS + wasm heaps of the page and its worker);
// - the worker's tf.memory().numBytes (backend tensors) and the model's own count.
// The acceptance figure is the growth of the processes' PSS on load, int8 / fp32.
// No GPU on these machines: webgpu is SwiftShader's CPU emulation.
import { readFileSync, readdirSync } from 'node:fs';
import type { BenchResult } from './types.js';
import type { LoadOptions, WorkerApi, WorkerMemory } from '../apps/browser-client/src/api.js';
import buildPages from '../e2e/global-setup.js';
import { answerVocabulary } from '../packages/core/src/data/index.js';
import { createModel, saveModel } from '../packages/core/src/model/index.js';
import { initNodeBackend } from '../packages/core/src/node/index.js';
import { launch, siteContext, type Browser } from '@focus-fl/testkit/browser';
import { serveClient } from '@focus-fl/testkit/static';

const MiB = 1024 * 1024;
const mib = (b: number) => Math.round((10 * b) / MiB) / 10;
// TAB_MEMORY_PRESETS / TAB_MEMORY_BACKENDS (comma-separated) narrow the run.
const PRESETS = (process.env.TAB_MEMORY_PRESETS ?? 'tiny,vilt-b32').split(',') as (
  'tiny' | 'vilt-b32'
)[];
const BACKENDS = (process.env.TAB_MEMORY_BACKENDS ?? 'wasm,webgpu').split(',');
const ARGS = ['--js-flags=--expose-gc', '--enable-blink-features=ForceEagerMeasureMemory'];

/** PSS of every process descended from this one (the launched Chromium's tree). */
function descendantsPss(): number {
  const parent = new Map<number, number>();
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const stat = readFileSync(`/proc/${d}/stat`, 'utf8');
      parent.set(Number(d), Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]));
    } catch {
      /* exited */
    }
  }
  const mine = (pid: number): boolean => {
    for (let p = parent.get(pid); p !== undefined && p > 1; p = parent.get(p))
      if (p === process.pid) return true;
    return false;
  };
  let total = 0;
  for (const pid of parent.keys()) {
    if (!mine(pid)) continue;
    try {
      const m = /^Pss:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8'));
      if (m) total += Number(m[1]) * 1024;
    } catch {
      /* exited */
    }
  }
  return total;
}

interface Snapshot {
  pss: number;
  ua: number | null;
  worker: WorkerMemory;
}

async function measure(
  browser: Browser,
  origin: string,
  backend: string,
  weights: 'int8' | 'fp32',
): Promise<{ before: Snapshot; after: Snapshot; peakPss: number; loadMs: number }> {
  const page = await (await siteContext(browser)).newPage();
  await page.goto(`${origin}/client/?backend=${backend}`);
  await page.waitForFunction(
    () => document.body.dataset.ready === '1' || document.body.dataset.error,
    null,
    { timeout: 180_000 },
  );
  const err = await page.evaluate(() => document.body.dataset.error);
  if (err) throw new Error(`${backend}: ${err}`);
  const snap = async (): Promise<Snapshot> => {
    const inTab = await page.evaluate(async () => {
      const w = (window as unknown as { focusSite: { worker: WorkerApi } }).focusSite.worker;
      const worker = await w.memory();
      (globalThis as { gc?: () => void }).gc?.();
      const perf = performance as Performance & {
        measureUserAgentSpecificMemory?: () => Promise<{ bytes: number }>;
      };
      let ua: number | null = null;
      if (self.crossOriginIsolated && perf.measureUserAgentSpecificMemory) {
        const timeout = new Promise<null>((r) => setTimeout(() => r(null), 30_000));
        ua = (await Promise.race([perf.measureUserAgentSpecificMemory(), timeout]))?.bytes ?? null;
      }
      return { worker, ua };
    });
    return { ...inTab, pss: descendantsPss() };
  };
  const before = await snap();
  let peakPss = before.pss;
  const poll = setInterval(() => (peakPss = Math.max(peakPss, descendantsPss())), 250);
  const t0 = performance.now();
  try {
    await page.evaluate(
      async ([o, opts]) => {
        const w = (window as unknown as { focusSite: { worker: WorkerApi } }).focusSite.worker;
        await w.loadModel(`${o}/model/base.safetensors`, undefined, opts);
      },
      [origin, { weights, probe: false } satisfies LoadOptions] as const,
    );
  } finally {
    clearInterval(poll);
  }
  const loadMs = performance.now() - t0;
  const after = await snap();
  peakPss = Math.max(peakPss, after.pss);
  await page.context().close();
  return { before, after, peakPss, loadMs };
}

export async function run(): Promise<BenchResult> {
  buildPages();
  await initNodeBackend('cpu');
  const rows: Record<string, unknown>[] = [];
  const notes: string[] = [];
  const grown: Record<string, number> = {};
  for (const preset of PRESETS) {
    const m = createModel(preset, { seed: 0, answers: answerVocabulary(), weights: 'int8' });
    const bytes = saveModel(m);
    m.dispose();
    const server = await serveClient(bytes);
    try {
      for (const backend of BACKENDS) {
        for (const weights of ['int8', 'fp32'] as const) {
          const browser = await launch({ webgpu: backend === 'webgpu', args: ARGS });
          try {
            const r = await measure(browser, server.origin, backend, weights);
            const key = `${preset}/${backend}/${weights}`;
            grown[key] = r.after.pss - r.before.pss;
            rows.push({
              preset,
              backend,
              weights,
              checkpointMiB: mib(bytes.byteLength),
              pssGrowthMiB: mib(grown[key]),
              pssAfterMiB: mib(r.after.pss),
              peakPssMiB: mib(r.peakPss),
              uaMemoryGrowthMiB:
                r.after.ua !== null && r.before.ua !== null ? mib(r.after.ua - r.before.ua) : null,
              tfBytesMiB: mib(r.after.worker.tfBytes),
              backendBytesMiB: mib(r.after.worker.backendBytes),
              modelResidentMiB: mib(r.after.worker.residentBytes),
              loadSeconds: Math.round(r.loadMs / 100) / 10,
            });
            console.log(JSON.stringify(rows[rows.length - 1]));
          } catch (e) {
            notes.push(`${preset} ${backend} ${weights}: failed (${(e as Error).message})`);
          } finally {
            await browser.close();
          }
        }
      }
    } finally {
      await server.close();
    }
  }
  for (const preset of PRESETS)
    for (const backend of BACKENDS) {
      const a = grown[`${preset}/${backend}/int8`];
      const b = grown[`${preset}/${backend}/fp32`];
      if (a === undefined || b === undefined) continue;
      const row = rows.find(
        (r) => r.preset === preset && r.backend === backend && r.weights === 'int8',
      )!;
      row.pssGrowthRatio = +(a / b).toFixed(3);
      const ua = (w: string) =>
        rows.find((r) => r.preset === preset && r.backend === backend && r.weights === w)
          ?.uaMemoryGrowthMiB as number | null;
      const uaI = ua('int8');
      const uaF = ua('fp32');
      if (uaI !== null && uaF !== null && uaF > 0)
        row.uaMemoryGrowthRatio = +(uaI / uaF).toFixed(3);
      notes.push(
        `${preset} on ${backend}: the tab's processes grow ${mib(a)} MiB loading the base int8 in memory vs ${mib(b)} MiB fp32 (ratio ${(a / b).toFixed(3)}; target <= 0.40).`,
      );
    }
  notes.push(
    'Command: pnpm bench tab-memory. One fresh headless Chromium per row; PSS = sum over the browser process tree; webgpu is SwiftShader (no GPU on this machine), whose device buffers live in the GPU process. Random-init weights; load is download + Cache API + parse, no activation probe.',
  );
  return { name: 'tab-memory', rows, notes };
}
