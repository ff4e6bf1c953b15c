/**
 * Runs the F3OCUS selection solver off the event loop: in a worker thread (so ws frames,
 * heartbeats and the dashboard keep flowing while it searches), bounded by maxTimeMs. Falls
 * back to an in-thread run if a worker cannot start (e.g. a loader without TS support).
 */
import type { Worker } from 'node:worker_threads';
import { tsWorker } from './tsx-worker.js';
import { selectionObjectives, solveSelection, type SelectionResult } from '@focus-fl/solvers';
import type { SelectionSolverOptions } from '@focus-fl/core/federated';
import { topB } from '@focus-fl/core/methods';

export interface SolverInput {
  scores: number[][];
  budgets: number[];
}
export type SolverOptions = SelectionSolverOptions;
export type SolverRun = (
  input: SolverInput,
  opts: SolverOptions,
  limits?: SolverRunLimits,
) => Promise<SelectionResult>;

export function solveInThread(input: SolverInput, opts: SolverOptions): SelectionResult {
  return solveSelection(input, opts);
}

let workerBroken = false;
let lastMode: 'worker' | 'in-thread' | 'fallback' | null = null;

/** How the last solve ran (tests and the bench check it really left the event loop). */
export function lastSolverMode(): 'worker' | 'in-thread' | 'fallback' | null {
  return lastMode;
}

/**
 * Hard deadline of a solve: the solvers honour maxTimeMs within a small overshoot (checked
 * inside steps too, packages/solvers time-budget test), so the slack mainly covers the
 * worker's start-up (tsx + solver import, ~0.5-1 s, more on a loaded machine).
 */
export function hardDeadlineMs(maxTimeMs: number | undefined): number {
  const soft = maxTimeMs ?? 10_000;
  return soft + Math.max(2000, soft / 2);
}

/** Test and operator overrides of the run's limits. */
export interface SolverRunLimits {
  /** Terminate the worker and use the client-only fallback after this many ms. */
  hardDeadlineMs?: number;
}

/**
 * The round's selection when the solver misses its hard deadline: each client's own top-B
 * layers (the client-only LNTK choice, Table 1 "LNTK (client)"), as a one-point front. Logged and marked
 * with evaluations = 0 so reports can tell.
 */
export function fallbackSelection(
  input: SolverInput,
  opts: SolverOptions,
  elapsedMs = hardDeadlineMs(opts.maxTimeMs),
): SelectionResult {
  const masks = input.scores.map((row, i) => {
    const top = new Set(topB(row, input.budgets[i]));
    return row.map((_, l) => (top.has(l) ? 1 : 0));
  });
  const o = selectionObjectives(input.scores, masks);
  return {
    algorithm: opts.algo,
    front: [{ masks, importance: o.importance, variance: o.variance }],
    selected: 0,
    evaluations: 0,
    elapsedMs,
  };
}

export const runSolver: SolverRun = (input, opts, limits = {}) => {
  const deadline = limits.hardDeadlineMs ?? hardDeadlineMs(opts.maxTimeMs);
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
    const hard = setTimeout(() => {
      if (settled) return;
      settled = true;
      lastMode = 'fallback';
      void worker.terminate();
      console.warn(
        `solver missed its hard deadline (${deadline} ms); using the client-only top-B selection this round`,
      );
      resolve(fallbackSelection(input, opts, deadline));
    }, deadline);
    worker.once(
      'message',
      (m: { ok: true; result: SelectionResult } | { ok: false; error: string }) => {
        if (settled) return;
        settled = true;
        clearTimeout(hard);
        lastMode = 'worker';
        void worker.terminate();
        if (m.ok) resolve(m.result);
        else reject(new Error(m.error));
      },
    );
    worker.once('error', (e) => {
      if (settled) return;
      settled = true;
      clearTimeout(hard);
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
