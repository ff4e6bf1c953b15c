/**
 * Runs the F3OCUS selection solver off the event loop: in a worker thread (so ws frames,
 * heartbeats and the dashboard keep flowing while it searches), bounded by maxTimeMs. Falls
 * back to an in-thread run if a worker cannot start (e.g. a loader without TS support).
 */
import type { Worker } from 'node:worker_threads';
import { tsWorker } from './tsx-worker.js';
import { solveSelection, type SelectionResult } from '@focus-fl/solvers';
import type { SelectionSolverOptions } from '@focus-fl/core/federated';

export interface SolverInput {
  scores: number[][];
  budgets: number[];
}
export type SolverOptions = SelectionSolverOptions;
export type SolverRun = (input: SolverInput, opts: SolverOptions) => Promise<SelectionResult>;

export function solveInThread(input: SolverInput, opts: SolverOptions): SelectionResult {
  return solveSelection(input, opts);
}

let workerBroken = false;
let lastMode: 'worker' | 'in-thread' | null = null;

/** How the last solve ran (tests and the bench check it really left the event loop). */
export function lastSolverMode(): 'worker' | 'in-thread' | null {
  return lastMode;
}

export const runSolver: SolverRun = (input, opts) => {
  if (workerBroken) {
    lastMode = 'in-thread';
    return Promise.resolve(solveInThread(input, opts));
  }
  return new Promise((resolve, reject) => {
    let worker: Worker;
    try {
      worker = tsWorker(new URL('./solver-worker.ts', import.meta.url), { input, opts });
    } catch {
      workerBroken = true;
      lastMode = 'in-thread';
      resolve(solveInThread(input, opts));
      return;
    }
    let settled = false;
    worker.once(
      'message',
      (m: { ok: true; result: SelectionResult } | { ok: false; error: string }) => {
        settled = true;
        lastMode = 'worker';
        void worker.terminate();
        if (m.ok) resolve(m.result);
        else reject(new Error(m.error));
      },
    );
    worker.once('error', (e) => {
      if (settled) return;
      settled = true;
      // The worker could not load (not a solver error): remember and solve here instead.
      workerBroken = true;
      lastMode = 'in-thread';
      console.warn(`solver worker unavailable (${e.message}); solving in-thread`);
      try {
        resolve(solveInThread(input, opts));
      } catch (err) {
        reject(err as Error);
      }
    });
  });
};
