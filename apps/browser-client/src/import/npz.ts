// MedMNIST .npz (official layout: train/val/test _images and _labels) -> VQA triplets via the
// core builder (Ultra-MedVQA templates). train + val become the local training split, the
// official test split the held-out one. The subset comes from the file name (pathmnist.npz,
// pathmnist_64.npz, ...), as the files carry no name inside.
import {
  SUBSET_NAMES,
  arraysToVqa,
  parseMedMnistFileName,
  readMedMnistNpz,
} from '@focus-fl/core/data';
import type { StoredSample } from '../storage.js';

export function npzToSamples(path: string, bytes: Uint8Array): StoredSample[] {
  const base = path.split('/').pop() ?? path;
  const parsed = parseMedMnistFileName(base);
  if (!parsed) {
    throw new Error(
      `${path}: cannot tell the MedMNIST subset from the file name; keep the official name (e.g. pathmnist.npz or pathmnist_64.npz; subsets: ${SUBSET_NAMES.join(', ')})`,
    );
  }
  const file = readMedMnistNpz(bytes, { subset: parsed.subset, name: path });
  const out: StoredSample[] = [];
  const parts = [
    ['train', 'train', 1],
    ['train', 'val', 2],
    ['test', 'test', 3],
  ] as const;
  for (const [split, part, seed] of parts) {
    for (const s of arraysToVqa(parsed.subset, file.splits[part], seed)) {
      out.push({ ...s, split, source: path });
    }
  }
  if (out.length === 0) throw new Error(`${path}: no images in the train/val/test arrays`);
  return out;
}
