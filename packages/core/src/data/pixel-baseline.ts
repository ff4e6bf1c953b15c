// Nearest-centroid classifier on raw pixels: a data-only check that an image set carries
// class signal (used by the synthetic generator's tests and bench/data.bench.ts).

import type { MedMnistArrays } from './types.js';

/** Class of row i: the label, or for multi-label arrays any-finding (1) vs none (0). */
export function pixelClassOf(a: MedMnistArrays, i: number): number {
  if (a.labelWidth === 1) return a.labels[i];
  return a.labels.subarray(i * a.labelWidth, (i + 1) * a.labelWidth).some((v) => v) ? 1 : 0;
}

/** Test accuracy of nearest-centroid (squared Euclidean on pixels) and the test-set
 * majority-class rate (the chance level to beat). */
export function nearestCentroidAccuracy(
  train: MedMnistArrays,
  test: MedMnistArrays,
): { accuracy: number; majority: number } {
  if (train.size !== test.size || train.channels !== test.channels) {
    throw new Error('nearestCentroidAccuracy: train and test differ in image size or channels');
  }
  if (test.count === 0 || train.count === 0)
    throw new Error('nearestCentroidAccuracy: empty split');
  const P = train.size * train.size * train.channels;
  let K = 0;
  for (let i = 0; i < train.count; i++) K = Math.max(K, pixelClassOf(train, i) + 1);
  const cen = Array.from({ length: K }, () => new Float64Array(P));
  const n = new Array<number>(K).fill(0);
  for (let i = 0; i < train.count; i++) {
    const c = pixelClassOf(train, i);
    n[c]++;
    for (let j = 0; j < P; j++) cen[c][j] += train.images[i * P + j];
  }
  cen.forEach((v, c) => v.forEach((x, j) => (v[j] = x / Math.max(1, n[c]))));
  let ok = 0;
  const counts = new Map<number, number>();
  for (let i = 0; i < test.count; i++) {
    const truth = pixelClassOf(test, i);
    counts.set(truth, (counts.get(truth) ?? 0) + 1);
    let best = -1;
    let bestD = Infinity;
    for (let c = 0; c < K; c++) {
      if (n[c] === 0) continue;
      let d = 0;
      for (let j = 0; j < P; j++) {
        const e = test.images[i * P + j] - cen[c][j];
        d += e * e;
      }
      if (d < bestD) [best, bestD] = [c, d];
    }
    if (best === truth) ok++;
  }
  return { accuracy: ok / test.count, majority: Math.max(...counts.values()) / test.count };
}
