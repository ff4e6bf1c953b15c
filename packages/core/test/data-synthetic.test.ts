import { describe, expect, it } from 'vitest';
import {
  CLIENT_NAMES,
  CLIENTS,
  DEFAULT_DIFFICULTY,
  SUBSETS,
  SUBSET_NAMES,
  SUBSET_STYLES,
  splitCountBySubset,
  syntheticClientSize,
  syntheticSubsetArrays,
  type MedMnistArrays,
  type SubsetName,
} from '../src/data/index.js';

/** Class of row i: the label, or for ChestMNIST "any finding" (1) vs "no finding" (0). */
const classOf = (a: MedMnistArrays, i: number): number =>
  a.labelWidth > 1
    ? a.labels.subarray(i * a.labelWidth, (i + 1) * a.labelWidth).some((v) => v)
      ? 1
      : 0
    : a.labels[i];

/** Nearest-centroid classifier on raw pixels: test accuracy and the majority-class rate. */
function nearestCentroid(
  train: MedMnistArrays,
  test: MedMnistArrays,
): { acc: number; majority: number } {
  const P = train.size * train.size * train.channels;
  const K = train.labelWidth > 1 ? 2 : Math.max(...train.labels) + 1;
  const cen = Array.from({ length: K }, () => new Float64Array(P));
  const n = new Array<number>(K).fill(0);
  for (let i = 0; i < train.count; i++) {
    const c = classOf(train, i);
    n[c]++;
    for (let j = 0; j < P; j++) cen[c][j] += train.images[i * P + j];
  }
  cen.forEach((v, c) => v.forEach((x, j) => (v[j] = x / Math.max(1, n[c]))));
  let ok = 0;
  const testCounts = new Map<number, number>();
  for (let i = 0; i < test.count; i++) {
    const truth = classOf(test, i);
    testCounts.set(truth, (testCounts.get(truth) ?? 0) + 1);
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
  return { acc: ok / test.count, majority: Math.max(...testCounts.values()) / test.count };
}

const gen = (subset: SubsetName, seed: number, count: number, difficulty: number): MedMnistArrays =>
  syntheticSubsetArrays(subset, { seed, count, difficulty });

describe('synthetic generator carries class signal', () => {
  for (const subset of SUBSET_NAMES) {
    it(`${subset}: nearest centroid beats chance at the default difficulty, less so when harder`, () => {
      const easy = nearestCentroid(
        gen(subset, 1, 300, DEFAULT_DIFFICULTY),
        gen(subset, 2, 150, DEFAULT_DIFFICULTY),
      );
      const hard = nearestCentroid(gen(subset, 1, 300, 0.9), gen(subset, 2, 150, 0.9));
      const margin = subset === 'chestmnist' || subset === 'retinamnist' ? 0.1 : 0.2;
      expect(easy.acc, `${subset} majority ${easy.majority}`).toBeGreaterThan(
        easy.majority + margin,
      );
      expect(hard.acc, subset).toBeLessThan(easy.acc - 0.05);
    });
  }
});

describe('synthetic arrays', () => {
  it('are deterministic per seed, differ across seeds, and have the MedMNIST layout', () => {
    for (const subset of SUBSET_NAMES) {
      const a = syntheticSubsetArrays(subset, { seed: 4, count: 3, size: 64 });
      const b = syntheticSubsetArrays(subset, { seed: 4, count: 3, size: 64 });
      const c = syntheticSubsetArrays(subset, { seed: 5, count: 3, size: 64 });
      expect(a.images).toEqual(b.images);
      expect(a.labels).toEqual(b.labels);
      expect(a.images).not.toEqual(c.images);
      expect(a.channels).toBe(SUBSETS[subset].channels);
      expect(a.images.length).toBe(3 * 64 * 64 * a.channels);
      expect(a.labels.length).toBe(3 * (subset === 'chestmnist' ? 14 : 1));
    }
  });

  it('look like images: varied grey levels, and colour in the RGB subsets', () => {
    for (const subset of SUBSET_NAMES) {
      const a = syntheticSubsetArrays(subset, { seed: 1, count: 4 });
      const v = Array.from(a.images);
      const mean = v.reduce((x, y) => x + y, 0) / v.length;
      const sd = Math.sqrt(v.reduce((x, y) => x + (y - mean) ** 2, 0) / v.length);
      expect(sd, subset).toBeGreaterThan(15);
      if (a.channels === 3) {
        let chroma = 0;
        for (let i = 0; i < a.images.length; i += 3)
          chroma += Math.abs(a.images[i] - a.images[i + 2]);
        expect(chroma / (a.images.length / 3), subset).toBeGreaterThan(10);
      }
    }
  });

  it('every class offset names a base parameter (no NaN scenes)', () => {
    for (const subset of SUBSET_NAMES) {
      const style = SUBSET_STYLES[subset];
      expect(style.classes.length, subset).toBe(SUBSETS[subset].labels.length);
      for (const delta of style.classes)
        for (const k of Object.keys(delta)) expect(style.base, `${subset}.${k}`).toHaveProperty(k);
      for (const k of Object.keys(style.jitter)) expect(style.base).toHaveProperty(k);
    }
  });

  it('reject bad options with the field named', () => {
    expect(() => syntheticSubsetArrays('octmnist', { seed: 1, count: 2, difficulty: 2 })).toThrow(
      /difficulty/,
    );
    expect(() => syntheticSubsetArrays('octmnist', { seed: 1, count: 2, size: 3 })).toThrow(/size/);
    expect(() => syntheticSubsetArrays('octmnist', { seed: 1, count: -1 })).toThrow(/count/);
    expect(() => syntheticSubsetArrays('mnist' as SubsetName, { seed: 1, count: 1 })).toThrow(
      /pathmnist/,
    );
  });
});

describe('client sizes (method.md §5 counts)', () => {
  it('are proportional to the paper counts with a floor, a few hundred by default', () => {
    for (const name of CLIENT_NAMES) {
      const n = syntheticClientSize(name);
      expect(n).toBeGreaterThanOrEqual(200);
      expect(n).toBeLessThan(1000);
      expect(syntheticClientSize(name, { scale: 0.01, floor: 0 })).toBe(
        Math.round(CLIENTS[name].paperCount * 0.01),
      );
    }
    expect(syntheticClientSize('kidney_cortex')).toBeGreaterThan(syntheticClientSize('oct'));
    expect(syntheticClientSize('ultrasound', { floor: 37 })).toBe(37);
    expect(() => syntheticClientSize('oct', { scale: -1 })).toThrow(/scale/);
    const total = CLIENT_NAMES.reduce((a, c) => a + CLIENTS[c].paperCount, 0);
    expect(total).toBe(707_962);
  });

  it('split multi-subset clients by MedMNIST subset sizes, summing exactly', () => {
    const chest = splitCountBySubset('chest_xray', 1000);
    expect(chest.get('chestmnist')).toBe(950);
    expect(chest.get('pneumoniamnist')).toBe(50);
    const ct = splitCountBySubset('abdominal_ct', 101);
    expect([...ct.values()].reduce((a, b) => a + b, 0)).toBe(101);
  });
});
