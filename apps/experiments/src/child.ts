/**
 * A run executor process (forked by executor.ts): takes one RunTask at a time over IPC, runs
 * it, answers with its result line or error. Exits when its parent goes away, so a killed
 * worker never leaves a federation running behind it.
 */
import { initNodeBackend } from '@focus-fl/core/node';
import { executeRun } from './run-one.js';
import type { ChildReply, ChildRequest } from './executor.js';

process.on('disconnect', () => process.exit(0));

await initNodeBackend('wasm');
const reply = (m: ChildReply) => process.send?.(m);
process.on('message', (m: ChildRequest) => {
  void executeRun(m.task).then(
    (line) => reply({ id: m.id, ok: true, line }),
    (e: unknown) =>
      reply({ id: m.id, ok: false, error: e instanceof Error ? e.message : String(e) }),
  );
});
reply({ id: -1, ok: true, ready: true });
