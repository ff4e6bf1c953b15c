// Resident memory of the base model, frozen weights int8 in memory vs the fp32 path (the same
// int8 checkpoint dequantized once at load), for tiny and vilt-b32 (random init; the geometry
// of dandelin/vilt-b32), in Node and in a browser tab.
// - Node (wasm backend): a fresh process per mode (bench/vilt-child.ts; a wasm heap never
//   shrinks), its RSS growth from before the file is read to after the load and a full GC.
// - Tab (the site worker on wasm and on webgpu): one fresh headless Chromium per measurement,
//   the base served as the coordinator serves it and loaded by the worker (download, Cache
//   API, parse), without the activation probe. Before and after the load, after a full GC:
//   the PSS (/proc/PID/smaps_rollup) of the browser's processes, in total and per process type
//   (renderer = the page and its worker; gpu-process = WebGPU's device buffers on SwiftShader;
//   browser/utility = network, Cache API storage); performance.measureUserAgentSpecificMemory()
//   (JS + wasm heaps of the page and its worker); the worker's tf.memory() and the model's count.
// The acceptance figure (issue: <= 40 %) is the growth int8 / fp32: RSS in Node; in a tab the
// PSS of the processes that hold the model (renderer + gpu-process).
// No GPU on these machines: webgpu is SwiftShader's CPU emulation.
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadInChild } from './lib/load-child.js';
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
// MEMORY_PRESETS / MEMORY_BACKENDS (comma-separated) narrow the run.
const PRESETS = (process.env.MEMORY_PRESETS ?? 'tiny,vilt-b32').split(',') as (
  'tiny' | 'vilt-b32'
)[];
const BACKENDS = (process.env.MEMORY_BACKENDS ?? 'wasm,webgpu').split(',');
const ARGS = ['--js-flags=--expose-gc', '--enable-blink-features=ForceEagerMeasureMemory'];

/** PSS of every process descended from this one (the launched Chromium's tree), by type. */
function descendantsPss(): Record<string, number> {
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
  const out: Record<string, number> = { total: 0 };
  for (const pid of parent.keys()) {
    if (!mine(pid)) continue;
    try {
      const cmd = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
      if (!cmd.includes('chrom')) continue;
      const type = /--type=([a-z-]+)/.exec(cmd)?.[1] ?? 'browser';
      const m = /^Pss:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8'));
      if (!m) continue;
      out[type] = (out[type] ?? 0) + Number(m[1]) * 1024;
      out.total += Number(m[1]) * 1024;
    } catch {
      /* exited */
    }
  }
  return out;
}

/** The processes that hold the model: the page + worker, and the GPU process (webgpu). */
const modelPss = (p: Record<string, number>) => (p.renderer ?? 0) + (p['gpu-process'] ?? 0);

interface Snapshot {
  pss: Record<string, number>;
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
  let peakPss = before.pss.total;
  const poll = setInterval(() => (peakPss = Math.max(peakPss, descendantsPss().total)), 250);
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
  peakPss = Math.max(peakPss, after.pss.total);
  await page.context().close();
  return { before, after, peakPss, loadMs };
}

const ratio = (a: number, b: number) => +(a / b).toFixed(3);

export async function run(): Promise<BenchResult> {
  buildPages();
  await initNodeBackend('cpu');
  const rows: Record<string, unknown>[] = [];
  const notes: string[] = [];
  const dir = mkdtempSync(join(tmpdir(), 'focus-fl-memory-'));
  try {
    for (const preset of PRESETS) {
      const m = createModel(preset, { seed: 0, answers: answerVocabulary(), weights: 'int8' });
      const bytes = saveModel(m);
      m.dispose();
      const file = join(dir, `${preset}.safetensors`);
      writeFileSync(file, bytes);
      // Node: RSS growth of a fresh process.
      const node = { int8: loadInChild(file, 'int8'), fp32: loadInChild(file, 'fp32') };
      for (const w of ['int8', 'fp32'] as const)
        rows.push({
          where: 'node',
          preset,
          backend: 'wasm',
          weights: w,
          checkpointMiB: mib(bytes.byteLength),
          growthMiB: mib(node[w].rssAfterLoad),
          growthRatio: w === 'int8' ? ratio(node.int8.rssAfterLoad, node.fp32.rssAfterLoad) : null,
          peakMiB: mib(node[w].peakRss),
          modelResidentMiB: mib(node[w].residentBytes),
        });
      notes.push(
        `${preset} in Node (wasm): RSS grows ${mib(node.int8.rssAfterLoad)} MiB loading the base int8 in memory vs ${mib(node.fp32.rssAfterLoad)} MiB fp32 (ratio ${ratio(node.int8.rssAfterLoad, node.fp32.rssAfterLoad)}; target <= 0.40).`,
      );
      // Tab.
      const server = await serveClient(bytes);
      try {
        for (const backend of BACKENDS) {
          const tab: Partial<Record<'int8' | 'fp32', Awaited<ReturnType<typeof measure>>>> = {};
          for (const weights of ['int8', 'fp32'] as const) {
            const browser = await launch({ webgpu: backend === 'webgpu', args: ARGS });
            try {
              tab[weights] = await measure(browser, server.origin, backend, weights);
            } catch (e) {
              notes.push(`${preset} ${backend} ${weights}: failed (${(e as Error).message})`);
            } finally {
              await browser.close();
            }
          }
          const grow = (w: 'int8' | 'fp32', f: (p: Record<string, number>) => number) =>
            tab[w] ? f(tab[w].after.pss) - f(tab[w].before.pss) : NaN;
          const ua = (w: 'int8' | 'fp32') =>
            tab[w]?.after.ua != null && tab[w]?.before.ua != null
              ? tab[w].after.ua - tab[w].before.ua
              : null;
          for (const w of ['int8', 'fp32'] as const) {
            const r = tab[w];
            if (!r) continue;
            const other = (p: Record<string, number>) => p.total - modelPss(p);
            const uaI = ua('int8');
            const uaF = ua('fp32');
            rows.push({
              where: 'tab',
              preset,
              backend,
              weights: w,
              checkpointMiB: mib(bytes.byteLength),
              growthMiB: mib(grow(w, modelPss)),
              growthRatio:
                w === 'int8' ? ratio(grow('int8', modelPss), grow('fp32', modelPss)) : null,
              peakMiB: mib(r.peakPss),
              modelResidentMiB: mib(r.after.worker.residentBytes),
              otherProcessesGrowthMiB: mib(grow(w, other)),
              allProcessesGrowthMiB: mib(grow(w, (p) => p.total)),
              allProcessesRatio:
                w === 'int8'
                  ? ratio(
                      grow('int8', (p) => p.total),
                      grow('fp32', (p) => p.total),
                    )
                  : null,
              uaMemoryGrowthMiB: ua(w) === null ? null : mib(ua(w)!),
              uaMemoryRatio: w === 'int8' && uaI !== null && uaF ? ratio(uaI, uaF) : null,
              tfBytesMiB: mib(r.after.worker.tfBytes),
              backendBytesMiB: mib(r.after.worker.backendBytes),
              workerBackend: r.after.worker.backend,
              loadSeconds: Math.round(r.loadMs / 100) / 10,
            });
            console.log(JSON.stringify(rows[rows.length - 1]));
          }
          if (tab.int8 && tab.fp32)
            notes.push(
              `${preset} in a tab (${backend}): the page + worker${backend === 'webgpu' ? ' + GPU process' : ''} grow ${mib(grow('int8', modelPss))} MiB loading the base int8 in memory vs ${mib(grow('fp32', modelPss))} MiB fp32 (ratio ${ratio(grow('int8', modelPss), grow('fp32', modelPss))}; target <= 0.40); all browser processes ${ratio(
                grow('int8', (p) => p.total),
                grow('fp32', (p) => p.total),
              )} (the rest is the download and the Cache API copy, the same in both).`,
            );
        }
      } finally {
        await server.close();
      }
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  notes.push(
    'Command: pnpm bench memory. Node: a fresh process per row, RSS from before the file is read to after load + GC. Tab: one fresh headless Chromium per row, PSS summed per process type over the browser process tree; webgpu is SwiftShader (no GPU on this machine), whose device buffers live in the GPU process. Random-init weights; the tab load is download + Cache API + parse, no activation probe.',
  );
  return { name: 'memory', rows, notes };
}
