/** Start a worker thread running a TypeScript module (through tsx-worker.mjs). */
import { Worker } from 'node:worker_threads';

export function tsWorker(entry: URL, data: Record<string, unknown>): Worker {
  return new Worker(new URL('./tsx-worker.mjs', import.meta.url), {
    workerData: { ...data, entry: entry.href },
  });
}
