/**
 * A run executor process (forked by executor.ts): takes one RunTask at a time over IPC, runs
 * it, answers with its result line or error. Exits when its parent goes away, so a killed
 * worker never leaves a federation running behind it.
 */
import { initNodeBackend } from '@focus-fl/core/node';
import { executeRun } from './run-one.js';
import type { ChildReply, ChildRequest } from './executor.js';

// Static imports load before this line: if the parent went away meanwhile, the disconnect
// event has already passed, so check the channel too.
process.on('disconnect', () => process.exit(0));
if (!process.connected) process.exit(0);

// The coordinator warns when the f3ocus solver misses its hard deadline and the round falls
// back to the client-only top-B selection; count those per run (one run at a time here).
let solverFallbacks = 0;
const warn = console.warn.bind(console);
console.warn = (...args: unknown[]) => {
  if (typeof args[0] === 'string' && args[0].startsWith('solver missed its hard deadline'))
    solverFallbacks++;
  warn(...args);
};

await initNodeBackend('wasm');
const reply = (m: ChildReply) => process.send?.(m);
process.on('message', (m: ChildRequest) => {
  solverFallbacks = 0;
  void executeRun(m.task).then(
    (line) => reply({ id: m.id, ok: true, output: { line, notes: { solverFallbacks } } }),
    (e: unknown) =>
      reply({ id: m.id, ok: false, error: e instanceof Error ? e.message : String(e) }),
  );
});
reply({ id: -1, ok: true, ready: true });
