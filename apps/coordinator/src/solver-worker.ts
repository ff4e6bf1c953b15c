// Worker-thread entry for solver-run.ts: one solve per worker.
import { parentPort, workerData } from 'node:worker_threads';
import { solveInThread, type SolverInput, type SolverOptions } from './solver-run.js';

const { input, opts } = workerData as { input: SolverInput; opts: SolverOptions };
try {
  parentPort?.postMessage({ ok: true, result: solveInThread(input, opts) });
} catch (e) {
  parentPort?.postMessage({ ok: false, error: (e as Error).message });
}
