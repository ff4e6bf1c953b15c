// Worker-thread entry for solver-run.ts: one long-lived worker, one reply per request id.
import { parentPort } from 'node:worker_threads';
import { solveInThread, type SolverInput, type SolverOptions } from './solver-run.js';

parentPort?.on('message', (m: { id: number; input: SolverInput; opts: SolverOptions }) => {
  try {
    parentPort?.postMessage({ id: m.id, ok: true, result: solveInThread(m.input, m.opts) });
  } catch (e) {
    parentPort?.postMessage({ id: m.id, ok: false, error: (e as Error).message });
  }
});
