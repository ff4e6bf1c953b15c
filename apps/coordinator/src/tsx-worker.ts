/**
 * Start a worker thread running a TypeScript module: through tsx-worker.mjs, or, when this
 * process runs from a bundle (bundled-run.mjs), the entry's bundled file directly.
 */
import { Worker } from 'node:worker_threads';

export function tsWorker(entry: URL, data: Record<string, unknown>): Worker {
  const bundled = bundledEntry(entry);
  if (bundled) return new Worker(new URL(bundled), { workerData: { ...data, entry: entry.href } });
  return new Worker(new URL('./tsx-worker.mjs', import.meta.url), {
    workerData: { ...data, entry: entry.href },
  });
}

/** The bundled file of a source entry (bundled-run.mjs's FOCUS_FL_BUNDLE_MAP), if any. */
function bundledEntry(entry: URL): string | undefined {
  const map = process.env.FOCUS_FL_BUNDLE_MAP;
  if (!map) return undefined;
  try {
    const file = (JSON.parse(map) as Record<string, string>)[entry.href];
    return typeof file === 'string' ? file : undefined;
  } catch {
    return undefined;
  }
}
