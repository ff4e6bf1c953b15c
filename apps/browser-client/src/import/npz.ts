// MedMNIST .npz (official layout: train/val/test _images and _labels) -> VQA triplets via the
// core builder (Ultra-MedVQA templates), in chunks so a full-size file never exists as one
// array of samples. train + val become the local training split, the official test split the
// held-out one. The subset comes from the file name (pathmnist.npz, pathmnist_64.npz, ...), as
// the files carry no name inside. MedMNIST+ images (64/128/224 px) are resampled to the
// model's input side (area average, core resizeArrays) as they are imported.
import {
  SUBSET_NAMES,
  arraysToVqa,
  hashString,
  parseMedMnistFileName,
  readMedMnistNpz,
  resizeArrays,
  type MedMnistArrays,
  type SubsetName,
} from '@focus-fl/core/data';
import type { StoredSample } from '../storage.js';

export interface NpzImport {
  subset: SubsetName;
  /** Side of the stored images (min of the file's and the target). */
  size: number;
  /** Samples the file gives (one question per image). */
  total: number;
  /** Number of chunks `chunks()` yields. */
  numChunks: number;
  /** Sample chunks from chunk `from` on (resume), deterministic: the same file, the same chunks. */
  chunks(from?: number): Generator<StoredSample[]>;
}

function rows(a: MedMnistArrays, start: number, end: number): MedMnistArrays {
  const P = a.size * a.size * a.channels;
  return {
    ...a,
    images: a.images.subarray(start * P, end * P),
    labels: a.labels.subarray(start * a.labelWidth, end * a.labelWidth),
    count: end - start,
  };
}

export function readNpz(
  path: string,
  bytes: Uint8Array,
  opts: { targetSize: number; chunk: number },
): NpzImport {
  const base = path.split('/').pop() ?? path;
  const parsed = parseMedMnistFileName(base);
  if (!parsed) {
    throw new Error(
      `${path}: cannot tell the MedMNIST subset from the file name; keep the official name (e.g. pathmnist.npz or pathmnist_64.npz; subsets: ${SUBSET_NAMES.join(', ')})`,
    );
  }
  const file = readMedMnistNpz(bytes, { subset: parsed.subset, name: path });
  const parts = [
    ['train', 'train'],
    ['train', 'val'],
    ['test', 'test'],
  ] as const;
  const plan: { split: 'train' | 'test'; arrays: MedMnistArrays; start: number; end: number }[] =
    [];
  for (const [split, part] of parts) {
    const a = file.splits[part];
    for (let s = 0; s < a.count; s += opts.chunk)
      plan.push({ split, arrays: a, start: s, end: Math.min(a.count, s + opts.chunk) });
  }
  const total = plan.reduce((n, p) => n + p.end - p.start, 0);
  if (total === 0) throw new Error(`${path}: no images in the train/val/test arrays`);
  const size = Math.min(file.size, opts.targetSize);
  return {
    subset: parsed.subset,
    size,
    total,
    numChunks: plan.length,
    *chunks(from = 0) {
      for (let k = from; k < plan.length; k++) {
        const p = plan[k];
        const part = resizeArrays(rows(p.arrays, p.start, p.end), size);
        const seed = hashString(`${base}#${k}`);
        yield arraysToVqa(parsed.subset, part, seed).map((s) => ({
          ...s,
          split: p.split,
          source: path,
        }));
      }
    },
  };
}
