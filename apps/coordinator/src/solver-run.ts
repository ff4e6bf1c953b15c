/**
 * Runs the F3OCUS selection solver for the coordinator. The search is bounded by an evaluation
 * budget with an early stop (packages/solvers README, "Budgets"), so a seed gives the same
 * selection on any machine; the wall-time cap (`timeCapMs`, the config's `solverMaxMs`) only
 * guards against runaway instances.
 *
 * Small problems (at most INLINE_MAX_CELLS clients x layers; tens of ms) are solved on the
 * calling thread. Larger ones go to one long-lived worker thread, reused across rounds (its
 * start-up, tsx + solver import, costs ~0.3 CPU-s and ~0.6 s), so ws frames, heartbeats and the
 * dashboard keep flowing while it searches. A worker that misses its hard deadline is
 * terminated (the round uses the client-only fallback) and the next solve starts a fresh one;
 * a worker that cannot start at all makes later solves run in-thread.
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

/**
 * Largest problem (clients x layers) solved on the calling thread: 9 sites x 12 layers takes
 * 5-70 ms at the coordinator's budgets (up to ~300 ms for MOPSO on a loaded 2-core machine),
 * less than the worker's start-up alone.
 */
export const INLINE_MAX_CELLS = 128;

export function solveInThread(input: SolverInput, opts: SolverOptions): SelectionResult {
  return solveSelection(input, opts);
}

export type SolverMode = 'worker' | 'in-thread' | 'fallback';
let workerBroken = false;
let lastMode: SolverMode | null = null;

/** How the last solve ran (tests and the bench check it really left the event loop). */
export function lastSolverMode(): SolverMode | null {
  return lastMode;
}

/** The wall-time bound a solve was given: the safety cap, else the time budget. */
function softLimitMs(opts: SolverOptions): number | undefined {
  return opts.timeCapMs ?? opts.maxTimeMs;
}

/**
 * Hard deadline of a solve: the solvers honour their time cap within a small overshoot
 * (checked inside steps too, packages/solvers time-budget test), so the slack mainly covers a
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
  /** Where to solve: 'auto' (default: in-thread when small, else the worker) or forced. */
  mode?: 'auto' | 'worker' | 'in-thread';
}

/**
 * The round's selection when the solver misses its hard deadline: each client's own top-B
 * layers (the client-only LNTK choice, Table 1 "LNTK (client)"), as a one-point front. Logged and marked
 * with evaluations = 0 so reports can tell.
 */
export function fallbackSelection(
  input: SolverInput,
  opts: SolverOptions,
  elapsedMs = hardDeadlineMs(softLimitMs(opts)),
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

type WorkerReply = { id: number } & (
  { ok: true; result: SelectionResult } | { ok: false; error: string }
);

interface Pending {
  resolve: (r: SelectionResult) => void;
  reject: (e: Error) => void;
  /** The worker failed to load: the caller solves in-thread instead. */
  unavailable: (e: Error) => void;
}

/**
 * One long-lived solver worker: requests carry an id, replies come back in any order. It is
 * unref'd, so an idle worker never keeps the process alive (a pending solve's deadline timer
 * does while it runs).
 */
class SolverWorker {
  private readonly worker: Worker;
  private readonly pending = new Map<number, Pending>();
  private nextId = 0;
  private dead = false;

  constructor() {
    this.worker = tsWorker(new URL('./solver-worker.ts', import.meta.url), {});
    this.worker.unref();
    this.worker.on('message', (m: WorkerReply) => {
      const p = this.pending.get(m.id);
      if (!p) return;
      this.pending.delete(m.id);
      if (m.ok) p.resolve(m.result);
      else p.reject(new Error(m.error));
    });
    this.worker.on('error', (e) => this.fail(e));
    this.worker.on('exit', (code) => this.fail(new Error(`solver worker exited (${code})`)));
  }

  get alive(): boolean {
    return !this.dead;
  }

  solve(input: SolverInput, opts: SolverOptions, p: Pending): number {
    const id = this.nextId++;
    this.pending.set(id, p);
    this.worker.postMessage({ id, input, opts });
    return id;
  }

  /** Forget a request (its deadline passed); the worker is stopped, it may be stuck. */
  abandon(id: number): void {
    this.pending.delete(id);
    this.stop();
  }

  stop(): void {
    if (this.dead) return;
    this.dead = true;
    void this.worker.terminate();
  }

  private fail(e: Error): void {
    const wasAlive = !this.dead;
    this.dead = true;
    const waiting = [...this.pending.values()];
    this.pending.clear();
    for (const p of waiting) (wasAlive ? p.unavailable : p.reject)(e);
  }
}

let shared: SolverWorker | null = null;
let workerStarts = 0;

function sharedWorker(): SolverWorker {
  if (!shared?.alive) {
    shared = new SolverWorker();
    workerStarts++;
  }
  return shared;
}

/** How many solver workers this process has started (tests check the reuse). */
export function solverWorkerStarts(): number {
  return workerStarts;
}

/** Stop the shared solver worker (tests; a later solve starts a new one). */
export function stopSolverWorker(): void {
  shared?.stop();
  shared = null;
}

function runInThread(input: SolverInput, opts: SolverOptions): Promise<SelectionResult> {
  lastMode = 'in-thread';
  try {
    return Promise.resolve(solveInThread(input, opts));
  } catch (e) {
    return Promise.reject(e as Error);
  }
}

export const runSolver: SolverRun = (input, opts, limits = {}) => {
  const deadline = limits.hardDeadlineMs ?? hardDeadlineMs(softLimitMs(opts));
  const cells = input.scores.length * (input.scores[0]?.length ?? 0);
  const mode = limits.mode ?? 'auto';
  if (mode === 'in-thread' || (mode === 'auto' && cells <= INLINE_MAX_CELLS)) {
    return runInThread(input, opts);
  }
  if (workerBroken) return runInThread(input, opts);
  return new Promise((resolve, reject) => {
    let worker: SolverWorker;
    try {
      worker = sharedWorker();
    } catch {
      workerBroken = true;
      runInThread(input, opts).then(resolve, reject);
      return;
    }
    let settled = false;
    const settle = (): boolean => {
      if (settled) return false;
      settled = true;
      clearTimeout(hard);
      return true;
    };
    const id = worker.solve(input, opts, {
      resolve: (r) => {
        if (!settle()) return;
        lastMode = 'worker';
        resolve(r);
      },
      reject: (e) => {
        if (settle()) reject(e);
      },
      unavailable: (e) => {
        if (!settle()) return;
        // The worker could not load (not a solver error): remember and solve here instead.
        workerBroken = true;
        console.warn(`solver worker unavailable (${e.message}); solving in-thread`);
        runInThread(input, opts).then(resolve, reject);
      },
    });
    const hard = setTimeout(() => {
      if (settled) return;
      settled = true;
      lastMode = 'fallback';
      worker.abandon(id);
      console.warn(
        `solver missed its hard deadline (${deadline} ms); using the client-only top-B selection this round`,
      );
      resolve(fallbackSelection(input, opts, deadline));
    }, deadline);
  });
};
