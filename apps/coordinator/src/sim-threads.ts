/**
 * Simulated sites in worker threads (`pnpm simulate --parallel N`: simulate.ts keeps one group
 * of sites on the main thread and hands the others here): the sites are dealt round-robin over
 * the threads, each with its own tfjs backend (sim-worker.ts); the coordinator stays on the
 * main thread. A site's computation does not depend on which thread runs it or
 * on what else runs there (its own model, data and seeds), and the coordinator aggregates in
 * site-name order, so a seeded federation gives the same results for any N.
 */
import { availableParallelism, loadavg } from 'node:os';
import type { Worker } from 'node:worker_threads';
import type { NodeBackend } from '@focus-fl/core/node';
import type { SimSiteOptions } from './sim-site.js';
import { tsWorker } from './tsx-worker.js';

export interface SiteThreadSpec {
  token: string;
  options: Omit<SimSiteOptions, 'baseBytes'>;
}

export interface SiteThreadInput {
  url: string;
  backend: NodeBackend;
  baseBytes: Uint8Array;
  sites: SiteThreadSpec[];
}

/**
 * Default thread count: one per idle core (cores minus the 1-minute load average), at least 1,
 * never more than the sites. A thread costs ~1-2 CPU-s to start (tsx, tfjs, the tokenizer) and
 * only pays when it gets a core of its own: on this 2-core machine under a load of ~20, the
 * 4-site bench ran 1.7x faster on the main thread than in 2 threads (bench/simulate.bench.ts).
 */
export function defaultParallel(sites: number, load = loadavg()[0]): number {
  const idle = Math.floor(availableParallelism() - load + 0.5);
  return Math.max(1, Math.min(sites, idle));
}

export interface SiteThreads {
  /** Each site's outcome ('done', ...), in input order. */
  outcomes: Promise<string[]>;
  /** Stops every thread still running (a federation that ended early). */
  terminate(): Promise<void>;
}

/** Runs `sites` in `threads` workers. */
export function runSitesInThreads(
  url: string,
  backend: NodeBackend,
  baseBytes: Uint8Array,
  sites: SiteThreadSpec[],
  threads: number,
): SiteThreads {
  if (!Number.isInteger(threads) || threads < 1)
    throw new Error(`--parallel must be a positive integer, got ${threads}`);
  const n = Math.min(threads, sites.length);
  const groups = Array.from({ length: n }, (_, t) => sites.filter((_, i) => i % n === t));
  const workers: Worker[] = [];
  const outcomes = Promise.all(
    groups.map(
      (group) =>
        new Promise<string[]>((resolve, reject) => {
          const input: SiteThreadInput = { url, backend, baseBytes, sites: group };
          const w = tsWorker(new URL('./sim-worker.ts', import.meta.url), { ...input });
          workers.push(w);
          let settled = false;
          w.once(
            'message',
            (m: { ok: true; outcomes: string[] } | { ok: false; error: string }) => {
              settled = true;
              void w.terminate();
              if (m.ok) resolve(m.outcomes);
              else
                reject(new Error(`site thread (${group.map((s) => s.options.name)}): ${m.error}`));
            },
          );
          w.once('error', (e) => {
            settled = true;
            reject(e);
          });
          w.once('exit', (code) => {
            if (!settled)
              reject(new Error(`site thread (${group.map((s) => s.options.name)}) exited ${code}`));
          });
        }),
    ),
  );
  return {
    outcomes: outcomes.then((results) => {
      const out: string[] = new Array(sites.length);
      groups.forEach((g, t) => g.forEach((s, j) => (out[sites.indexOf(s)] = results[t][j])));
      return out;
    }),
    terminate: async () => {
      await Promise.all(workers.map((w) => w.terminate()));
    },
  };
}
