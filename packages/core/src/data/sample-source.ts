// Samples that need not all be in memory: a site's full MedMNIST import lives in IndexedDB and
// training reads only the minibatches it uses. Browser-safe.

/** Random access to `length` samples; `read` returns them in the order of `indices`. */
export interface SampleSource<T> {
  readonly length: number;
  read(indices: readonly number[]): Promise<T[]>;
}

/** An in-memory array as a source (tests, the Node simulator). */
export function arraySource<T>(samples: readonly T[]): SampleSource<T> {
  return {
    length: samples.length,
    read: async (indices) =>
      indices.map((i) => {
        if (!Number.isInteger(i) || i < 0 || i >= samples.length)
          throw new Error(`sample index ${i} outside 0..${samples.length - 1}`);
        return samples[i];
      }),
  };
}

export function isSampleSource<T>(x: readonly T[] | SampleSource<T>): x is SampleSource<T> {
  return !Array.isArray(x) && typeof (x as SampleSource<T>).read === 'function';
}

/** Reads `source` in consecutive chunks of `chunk` samples, each read started ahead of use. */
export async function* chunksOf<T>(
  source: SampleSource<T>,
  chunk: number,
  limit = source.length,
): AsyncGenerator<T[]> {
  const n = Math.min(limit, source.length);
  const range = (s: number) => Array.from({ length: Math.min(chunk, n - s) }, (_, k) => s + k);
  let next = n > 0 ? source.read(range(0)) : null;
  for (let s = 0; s < n; s += chunk) {
    const cur = await (next as Promise<T[]>);
    next = s + chunk < n ? source.read(range(s + chunk)) : null;
    yield cur;
  }
}
