// Real MedMNIST files -> a client's VQA data (the browser's "import data" path; docs/method.md §5).
// Bytes in, triplets out: the caller reads the files (File API, fs) and passes the bytes.

import { mulberry32, shuffleInPlace } from '../random.js';
import { CLIENTS, CLIENT_NAMES, clientInfo, type ClientName, type SubsetName } from './medmnist.js';
import { MEDMNIST_SPLITS, parseMedMnistFileName, readMedMnistNpz } from './npz.js';
import type { ClientData, MedMnistArrays } from './types.js';
import { clientFromArrays, hashString } from './vqa.js';

/** The client a MedMNIST subset belongs to (e.g. pneumoniamnist -> chest_xray). */
export function clientOfSubset(subset: SubsetName): ClientName {
  const c = CLIENT_NAMES.find((n) => CLIENTS[n].subsets.includes(subset));
  if (!c) throw new Error(`no client holds subset ${subset}`);
  return c;
}

/** A seeded random subset of `n` rows (all rows if n >= count), in original order. */
export function subsampleArrays(a: MedMnistArrays, n: number, seed: number): MedMnistArrays {
  if (n >= a.count) return a;
  const idx = shuffleInPlace(
    Array.from({ length: a.count }, (_, i) => i),
    mulberry32(seed),
  )
    .slice(0, n)
    .sort((x, y) => x - y);
  const P = a.size * a.size * a.channels;
  const images = new Uint8Array(n * P);
  const labels = new Uint8Array(n * a.labelWidth);
  idx.forEach((i, k) => {
    images.set(a.images.subarray(i * P, (i + 1) * P), k * P);
    labels.set(a.labels.subarray(i * a.labelWidth, (i + 1) * a.labelWidth), k * a.labelWidth);
  });
  return { ...a, images, labels, count: n };
}

export interface MedMnistFileInput {
  /** File name such as `pathmnist.npz` or `organsmnist_64.npz`; names the subset unless
   * `subset` is given. */
  name: string;
  bytes: Uint8Array;
  subset?: SubsetName;
}

/**
 * Builds a client's 80/20 VQA data from its MedMNIST .npz files (train, val and test pooled,
 * docs/method.md §5). `maxPerSubset` keeps a seeded random subset of each file (browser memory).
 */
export function clientFromMedMnistFiles(
  client: ClientName,
  files: MedMnistFileInput[],
  opts: { seed: number; testFraction?: number; maxPerSubset?: number },
): ClientData {
  clientInfo(client);
  const arrays: Partial<Record<SubsetName, MedMnistArrays[]>> = {};
  for (const f of files) {
    const subset = f.subset ?? parseMedMnistFileName(f.name)?.subset;
    if (!subset) {
      throw new Error(
        `${f.name}: not a MedMNIST file name ({subset}.npz or {subset}_{28|64|128|224}.npz)`,
      );
    }
    if (!CLIENTS[client].subsets.includes(subset)) {
      throw new Error(
        `${f.name}: subset ${subset} belongs to client ${clientOfSubset(subset)}, not ${client}`,
      );
    }
    const file = readMedMnistNpz(f.bytes, { subset, name: f.name });
    const named = parseMedMnistFileName(f.name);
    if (named && named.subset === subset && named.size !== file.size) {
      throw new Error(
        `${f.name}: the name says ${named.size}px, the file holds ${file.size}px images`,
      );
    }
    let parts = MEDMNIST_SPLITS.map((s) => file.splits[s]);
    if (opts.maxPerSubset !== undefined) {
      const total = parts.reduce((a, p) => a + p.count, 0);
      const keep = Math.min(total, opts.maxPerSubset);
      parts = parts.map((p, k) =>
        subsampleArrays(
          p,
          Math.round((p.count / total) * keep),
          (opts.seed ^ hashString(`${f.name}#${k}`)) >>> 0,
        ),
      );
    }
    arrays[subset] = [...(arrays[subset] ?? []), ...parts];
  }
  return clientFromArrays(client, arrays, { seed: opts.seed, testFraction: opts.testFraction });
}
