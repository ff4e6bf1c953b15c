/**
 * The embedded scheduler (no --queue): N run processes (executor.ts) take the runs in order.
 */
import { RunExecutor, type RunOutput } from './executor.js';
import type { RunTask } from './spec.js';

export interface RunEvents {
  started(task: RunTask): void;
  finished(task: RunTask, output: RunOutput): void;
  failed(task: RunTask, error: string): void;
}

export async function runLocal(
  tasks: readonly RunTask[],
  workers: number,
  timeoutMs: number,
  events: RunEvents,
): Promise<void> {
  const todo = [...tasks];
  const executors = Array.from(
    { length: Math.max(1, Math.min(workers, todo.length)) },
    () => new RunExecutor(),
  );
  try {
    await Promise.all(
      executors.map(async (ex) => {
        for (let task = todo.shift(); task; task = todo.shift()) {
          events.started(task);
          try {
            events.finished(task, await ex.run(task, timeoutMs));
          } catch (e) {
            events.failed(task, (e as Error).message);
          }
        }
      }),
    );
  } finally {
    await Promise.all(executors.map((ex) => ex.close()));
  }
}
