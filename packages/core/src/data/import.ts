// Real MedMNIST files -> a client's VQA data (the browser's "import data" path; docs/method.md §5).
// Bytes in, triplets out: the caller reads the files (File API, fs) and passes the bytes.

import { mulberry32, shuffleInPlace } from '../random.js';
import { CLIENTS, CLIENT_NAMES, clientInfo, type ClientName, type SubsetName } from './medmnist.js';
import { MEDMNIST_SPLITS, parseMedMnistFileName, readMedMnistNpz } from './npz.js';
import type { ClientData, MedMnistArrays } from './types.js';
import { resizeArrays } from './resize.js';
import { clientFromArrays, hashString, presentSubsets } from './vqa.js';

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

/** A client's data and which of its MedMNIST subsets the files held. */
export interface ImportedClient extends ClientData {
  /** Subsets with at least one image, in the client's order. */
  subsets: SubsetName[];
  /** The client's subsets no file provided (a partial site; the mix renormalises). */
  missing: SubsetName[];
}

/**
 * Builds a client's 80/20 VQA data from its MedMNIST .npz files (train, val and test pooled,
 * docs/method.md §5). Any non-empty subset of the client's subsets imports: a chest X-ray site with
 * only PneumoniaMNIST is a chest_xray client whose question mix is PneumoniaMNIST's.
 * `maxPerSubset` keeps a seeded random subset of each file (browser memory); `size` resamples
 * every image to that side (MedMNIST+ 64/128/224 px files -> the model's input), which also
 * lets files of different sizes form one client.
 */
export function clientFromMedMnistFiles(
  client: ClientName,
  files: MedMnistFileInput[],
  opts: { seed: number; testFraction?: number; maxPerSubset?: number; size?: number },
): ImportedClient {
  const info = clientInfo(client);
  if (files.length === 0) {
    throw new Error(
      `client ${client}: no MedMNIST files given; expected any of ${info.subsets.map((s) => `${s}.npz`).join(', ')}`,
    );
  }
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
    if (opts.size !== undefined) parts = parts.map((p) => resizeArrays(p, opts.size as number));
    arrays[subset] = [...(arrays[subset] ?? []), ...parts];
  }
  const subsets = presentSubsets(client, arrays);
  const data = clientFromArrays(client, arrays, {
    seed: opts.seed,
    testFraction: opts.testFraction,
  });
  return { ...data, subsets, missing: info.subsets.filter((s) => !subsets.includes(s)) };
}

/**
 * Groups MedMNIST files by the client their subset belongs to (file names as the official
 * downloads: pathmnist.npz, chestmnist_64.npz, ...). Names that are not MedMNIST files are
 * returned in `unknown` so the caller can name them.
 */
export function groupMedMnistFilesByClient(names: readonly string[]): {
  byClient: Partial<Record<ClientName, string[]>>;
  unknown: string[];
} {
  const byClient: Partial<Record<ClientName, string[]>> = {};
  const unknown: string[] = [];
  for (const n of names) {
    const parsed = parseMedMnistFileName(n);
    if (!parsed) {
      unknown.push(n);
      continue;
    }
    const c = clientOfSubset(parsed.subset);
    byClient[c] = [...(byClient[c] ?? []), n];
  }
  return { byClient, unknown };
}
