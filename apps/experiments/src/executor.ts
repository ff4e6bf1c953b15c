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

/** What a run process learned besides the result line (kept in DIR/run-notes.jsonl). */
export interface RunNotes {
  /** f3ocus rounds whose solver missed its hard deadline (client-only top-B used instead). */
  solverFallbacks: number;
}

export interface RunOutput {
  line: ResultLine;
  notes: RunNotes;
}

export type ChildReply =
  | { id: number; ok: true; output?: RunOutput; ready?: boolean }
  | { id: number; ok: false; error: string };

const CHILD = fileURLToPath(new URL('./child.ts', import.meta.url));
const TSX = TSX_LOADER;

interface Proc {
  child: ChildProcess;
  ready: Promise<void>;
  pending: Map<number, { resolve(o: RunOutput): void; reject(e: Error): void }>;
}

export class RunExecutor {
  private proc: Proc | null = null;
  private nextId = 0;

  /** The run process id (tests kill it to simulate a crash). */
  get pid(): number | undefined {
    return this.proc?.child.pid;
  }

  private start(): Proc {
    if (this.proc) return this.proc;
    const child = fork(CHILD, [], {
      execArgv: ['--import', TSX],
      stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
    });
    const pending: Proc['pending'] = new Map();
    const ready = new Promise<void>((resolve, reject) => {
      child.on('message', (m: ChildReply) => {
        if (m.id === -1) return resolve();
        const p = pending.get(m.id);
        if (!p) return;
        pending.delete(m.id);
        if (m.ok) p.resolve(m.output!);
        else p.reject(new Error(m.error));
      });
      child.on('exit', (code, signal) => {
        const err = new Error(`run process exited (${signal ?? `code ${code}`})`);
        reject(err);
        for (const p of pending.values()) p.reject(err);
        pending.clear();
        this.detach(child);
      });
    });
    ready.catch(() => {}); // observed through run()
    this.proc = { child, ready, pending };
    return this.proc;
  }

  /** Forget a process (dead or being killed): the next run starts a fresh one. */
  private detach(child: ChildProcess): void {
    if (this.proc?.child === child) this.proc = null;
  }

  /** Runs `task`; rejects on its error, on a crash of the process, or after `timeoutMs`. */
  async run(task: RunTask, timeoutMs: number): Promise<RunOutput> {
    const proc = this.start();
    await proc.ready;
    const id = this.nextId++;
    return new Promise<RunOutput>((resolve, reject) => {
      const timer = setTimeout(() => {
        proc.pending.delete(id);
        this.detach(proc.child);
        proc.child.kill('SIGKILL');
        reject(new Error(`run ${task.key} timed out after ${timeoutMs} ms (process killed)`));
      }, timeoutMs);
      proc.pending.set(id, {
        resolve: (o) => {
          clearTimeout(timer);
          resolve(o);
        },
        reject: (e) => {
          clearTimeout(timer);
          reject(e);
        },
      });
      proc.child.send({ id, task } satisfies ChildRequest);
    });
  }

  async close(): Promise<void> {
    const proc = this.proc;
    if (!proc) return;
    this.proc = null;
    const { child } = proc;
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise<void>((r) => child.once('exit', () => r()));
    if (child.connected) child.disconnect();
    const t = setTimeout(() => child.kill('SIGKILL'), 5000);
    await exited;
    clearTimeout(t);
  }
}
