// Minibatches for trainLayers from an in-memory array (encoded once, then sliced: the fast
// path) or from a SampleSource (each batch read and encoded when needed, the next one read
// ahead), so a site's full import never sits in memory as one tensor.
import {
  encodeBatch,
  disposeBatch,
  sliceBatch,
  type EncodeContext,
  type SampleLike,
} from '../model/batch.js';
import type { VqaBatch } from '../model/forward.js';
import { isSampleSource, type SampleSource } from '../data/sample-source.js';

export interface BatchReader {
  /** The encoded rows `indices` and their samples (the caller disposes the batch). */
  get(indices: readonly number[]): Promise<{ batch: VqaBatch; rows: SampleLike[] }>;
  /** Hint: rows that the next `get` will ask for. */
  prefetch(indices: readonly number[]): void;
  dispose(): void;
}

export function batchReader(
  samples: readonly SampleLike[] | SampleSource<SampleLike>,
  ctx: EncodeContext,
): BatchReader {
  if (!isSampleSource(samples)) {
    const all = encodeBatch(samples, ctx);
    return {
      get: async (indices) => ({
        batch: sliceBatch(all, indices),
        rows: indices.map((i) => samples[i]),
      }),
      prefetch: () => undefined,
      dispose: () => disposeBatch(all),
    };
  }
  let ahead: { key: string; rows: Promise<SampleLike[]> } | null = null;
  return {
    async get(indices) {
      const key = indices.join(',');
      const rows = ahead?.key === key ? ahead.rows : samples.read(indices);
      ahead = null;
      const got = await rows;
      return { batch: encodeBatch(got, ctx), rows: got };
    },
    prefetch(indices) {
      if (indices.length === 0) return;
      const rows = samples.read(indices);
      rows.catch(() => undefined); // surfaced by the get() that uses it
      ahead = { key: indices.join(','), rows };
    },
    dispose: () => {
      ahead = null;
    },
  };
}
