/**
 * Runs the F3OCUS selection solver off the event loop: in a worker thread (so ws frames,
 * heartbeats and the dashboard keep flowing while it searches), bounded by maxTimeMs. Falls
 * back to an in-thread run if a worker cannot start (e.g. a loader without TS support).
 */
import { Worker } from 'node:worker_threads';
import { solveSelection, type SelectionResult } from '@focus-fl/solvers';

export interface SolverInput {
  scores: number[][];
  budgets: number[];
}
export interface SolverOptions {
  algo: 'nsga2' | 'mopso' | 'abc' | 'aco' | 'sa';
  seed: number;
  maxTimeMs: number;
  pick?: string;
}
export type SolverRun = (input: SolverInput, opts: SolverOptions) => Promise<SelectionResult>;

type SolveOpts = Parameters<typeof solveSelection>[1];

export function solveInThread(input: SolverInput, opts: SolverOptions): SelectionResult {
  return solveSelection(input, opts as SolveOpts);
}

let workerBroken = false;

export const runSolver: SolverRun = (input, opts) => {
  if (workerBroken) return Promise.resolve(solveInThread(input, opts));
  return new Promise((resolve, reject) => {
    let worker: Worker;
    try {
      worker = new Worker(new URL('./solver-worker.ts', import.meta.url), {
        workerData: { input, opts },
        execArgv: ['--import', 'tsx'],
      });
    } catch {
      workerBroken = true;
      resolve(solveInThread(input, opts));
      return;
    }
    let settled = false;
    worker.once(
      'message',
      (m: { ok: true; result: SelectionResult } | { ok: false; error: string }) => {
        settled = true;
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
      void e;
      try {
        resolve(solveInThread(input, opts));
      } catch (err) {
        reject(err as Error);
      }
    });
  });
};
