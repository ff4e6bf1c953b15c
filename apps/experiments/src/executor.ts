/**
 * Runs RunTasks in a child process (src/child.ts), one at a time, so that a run can be
 * stopped: a run past its timeout (e.g. a strategy whose rounds keep aborting and retrying)
 * gets its process killed and fails with a clear error; the next run starts a fresh child.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { ResultLine } from './results.js';
import type { RunTask } from './spec.js';
import { TSX_LOADER } from './tsx-loader.js';

export interface ChildRequest {
  id: number;
  task: RunTask;
}

export type ChildReply =
  | { id: number; ok: true; line?: ResultLine; ready?: boolean }
  | { id: number; ok: false; error: string };

const CHILD = fileURLToPath(new URL('./child.ts', import.meta.url));
const TSX = TSX_LOADER;

export class RunExecutor {
  private child: ChildProcess | null = null;
  private ready: Promise<void> | null = null;
  private nextId = 0;
  private pending = new Map<number, { resolve(l: ResultLine): void; reject(e: Error): void }>();

  /** The executor's process id (tests kill it to simulate a crash). */
  get pid(): number | undefined {
    return this.child?.pid;
  }

  private start(): Promise<void> {
    if (this.ready) return this.ready;
    const child = fork(CHILD, [], {
      execArgv: ['--import', TSX],
      stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
    });
    this.child = child;
    this.ready = new Promise<void>((resolve, reject) => {
      child.on('message', (m: ChildReply) => {
        if (m.id === -1) return resolve();
        const p = this.pending.get(m.id);
        if (!p) return;
        this.pending.delete(m.id);
        if (m.ok) p.resolve(m.line!);
        else p.reject(new Error(m.error));
      });
      child.on('exit', (code, signal) => {
        const err = new Error(`run process exited (${signal ?? `code ${code}`})`);
        reject(err);
        for (const p of this.pending.values()) p.reject(err);
        this.pending.clear();
        if (this.child === child) {
          this.child = null;
          this.ready = null;
        }
      });
    });
    return this.ready;
  }

  /** Runs `task`; rejects on its error, on a crash of the process, or after `timeoutMs`. */
  async run(task: RunTask, timeoutMs: number): Promise<ResultLine> {
    await this.start();
    const id = this.nextId++;
    const child = this.child!;
    return new Promise<ResultLine>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        child.kill('SIGKILL');
        reject(new Error(`run ${task.key} timed out after ${timeoutMs} ms (process killed)`));
      }, timeoutMs);
      this.pending.set(id, {
        resolve: (l) => {
          clearTimeout(timer);
          resolve(l);
        },
        reject: (e) => {
          clearTimeout(timer);
          reject(e);
        },
      });
      child.send({ id, task } satisfies ChildRequest);
    });
  }

  async close(): Promise<void> {
    const child = this.child;
    if (!child) return;
    const exited = new Promise<void>((r) => child.once('exit', () => r()));
    child.disconnect();
    const t = setTimeout(() => child.kill('SIGKILL'), 5000);
    await exited;
    clearTimeout(t);
  }
}
