import { createHash } from 'node:crypto';
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
  syntheticClient,
  syntheticSubsetArrays,
  nearestCentroidAccuracy,
  type MedMnistArrays,
  type SubsetName,
} from '../src/data/index.js';

/** Nearest centroid, renamed fields. */
const ncc = (train: MedMnistArrays, test: MedMnistArrays): { acc: number; majority: number } => {
  const r = nearestCentroidAccuracy(train, test);
  return { acc: r.accuracy, majority: r.majority };
};

describe('nearestCentroidAccuracy', () => {
  it('classifies a hand-made two-class set and reports the majority rate', () => {
    const mk = (px: number[][], labels: number[]): MedMnistArrays => ({
      images: Uint8Array.from(px.flat()),
      labels: Uint8Array.from(labels),
      count: labels.length,
      size: 2,
      channels: 1,
      labelWidth: 1,
    });
    const train = mk(
      [
        [0, 0, 0, 0],
        [10, 10, 10, 10],
        [200, 200, 200, 200],
        [250, 250, 250, 250],
      ],
      [0, 0, 1, 1],
    );
    // Centroids are 5 and 225; 120 lies nearer 225 (105 vs 115), so its label 0 is missed.
    const test = mk(
      [
        [1, 1, 1, 1],
        [120, 120, 120, 120],
        [240, 240, 240, 240],
      ],
      [0, 0, 1],
    );
    const r = nearestCentroidAccuracy(train, test);
    expect(r.accuracy).toBeCloseTo(2 / 3, 12);
    expect(r.majority).toBeCloseTo(2 / 3, 12);
  });
});

const gen = (subset: SubsetName, seed: number, count: number, difficulty: number): MedMnistArrays =>
  syntheticSubsetArrays(subset, { seed, count, difficulty });

describe('synthetic generator carries class signal', () => {
  for (const subset of SUBSET_NAMES) {
    it(`${subset}: nearest centroid beats chance at the default difficulty, less so when harder`, () => {
      const easy = ncc(
        gen(subset, 1, 300, DEFAULT_DIFFICULTY),
        gen(subset, 2, 150, DEFAULT_DIFFICULTY),
      );
      const hard = ncc(gen(subset, 1, 300, 0.9), gen(subset, 2, 150, 0.9));
      const margin = subset === 'chestmnist' || subset === 'retinamnist' ? 0.1 : 0.2;
      expect(easy.acc, `${subset} majority ${easy.majority}`).toBeGreaterThan(
        easy.majority + margin,
      );
      expect(hard.acc, subset).toBeLessThan(easy.acc - 0.05);
    });
  }
});

describe('overlap and noise knobs', () => {
  it('difficulty d is overlap d with noise d, and each knob alone lowers accuracy', () => {
    const a = syntheticSubsetArrays('bloodmnist', { seed: 1, count: 5, difficulty: 0.4 });
    const b = syntheticSubsetArrays('bloodmnist', {
      seed: 1,
      count: 5,
      overlap: 0.4,
      noise: 0.4,
      difficulty: 0.9,
    });
    expect(b.images).toEqual(a.images);
    const acc = (overlap: number, noise: number): number =>
      nearestCentroidAccuracy(
        syntheticSubsetArrays('tissuemnist', { seed: 1, count: 240, overlap, noise }),
        syntheticSubsetArrays('tissuemnist', { seed: 2, count: 120, overlap, noise }),
      ).accuracy;
    const clean = acc(0, 0);
    expect(acc(1, 0)).toBeLessThan(clean - 0.1);
    expect(acc(0, 1)).toBeLessThan(clean - 0.1);
    expect(() => syntheticSubsetArrays('octmnist', { seed: 1, count: 1, noise: -0.1 })).toThrow(
      /noise/,
    );
    expect(() => syntheticSubsetArrays('octmnist', { seed: 1, count: 1, overlap: 1.5 })).toThrow(
      /overlap/,
    );
  });
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

describe('synthetic arrays stay the same bytes', () => {
  // Every seeded experiment, cached data set and recorded result depends on these bytes: a
  // change of the generator (e.g. for speed) must keep them, and a change of a scene must show
  // which subsets and clients it touched. The digests hold across the allocation-free canvas
  // rewrite and ellipse()'s skipping of zero-coverage pixels; PneumoniaMNIST's paediatric
  // scene and the CT planes' anatomy (packages/core/src/data/README.md, "Synthetic generator")
  // changed pneumoniamnist, organ{a,c,s}mnist and the chest_xray and abdominal_ct clients.
  const SUBSET_DIGESTS: Record<SubsetName, string> = {
    pathmnist: '8c30e0c0cab54114242bd6be054b7dcc4cfa4de335c8e9b1a4fcd3a2ed7749b8',
    chestmnist: 'c3156529d3f738e2f585bfd8110cd8135d1c271cf30b1ca71479e904f16a5f58',
    dermamnist: '0b506ee324b2a1f53d3bfd0127a748d7878b04e83f0dc83057590816fe833aec',
    octmnist: '1fe8bb1a0ed95115374fd33e9f76a5331f984db6809aa806ca66c4801a0ba2eb',
    pneumoniamnist: 'edaeab30ba227bfc21358cd1ce6b30942774fd2071e7b970a892fe8d8429f20d',
    retinamnist: '3c93d8345da1cc5d72b5a31c6bdf75ac972c8af9e3eed5895259deb949f4c17a',
    breastmnist: '65d0ff34ef004ec6ab1fc6d8ada90c82040fdb81bff91fe1a868d47e5bd23b9a',
    bloodmnist: '5ef51512d17ba268a1211c8b9308f85282d2d5acdc14f259c9d8359d3a8b4d8c',
    tissuemnist: '12d291999f44036751d3c4dd730d11cb02cbdab0451e5efdcc73733b793dfd12',
    organamnist: '6bf1262af5e932e1a510bf84df6121358f2dbc1bfe754949b24640231af37bd9',
    organcmnist: 'e41335b4f1d1142464e5174fffd3bd55eced44a238a87ddc7680bf26ce92ba2a',
    organsmnist: '475ec357625909c226016df9a8299544a2f0b4d9c30b46c8893d7f2b9b9dffd2',
  };
  const CLIENT_DIGESTS: Record<(typeof CLIENT_NAMES)[number], string> = {
    chest_xray: 'cb7d9b5afed9403017fce0ab6c1d586086084b160e060967166a6348cf7b4462',
    oct: '0b3a0eca65453876b86ff5a99c93969e12ca0425ae768b8bdf2046e636d15b15',
    colon_pathology: 'a4d6a27826e8c7305dc96c8b7391ee36fe9a92a6e7ecfb127f93ad382845f75a',
    dermatoscope: '1b7dbdcdd8e383c9c279bd10e5261956f2037dd16fe12ea916c74453539ee8a6',
    fundus: '88394faef1da71a1be47155940ea53a77923a49f1d048d4739401d9040054fe3',
    ultrasound: '3f6e58e7b601766ffe74e9ba4f97cd266be4d29a263f74e94b23f133e2f1ada6',
    blood_microscope: 'bf4b47c7003fe705552e5b77fd56701ed3fae92f5a9b86f449b8098d48c63f84',
    kidney_cortex: '8f0f18ea6b1208ad1b8bc439eb239667e1aaa2ff87921a7410475554214bd2e1',
    abdominal_ct: 'ed6198585bbc6331925d8a1205e99c2734d60b11c9202d02ea3ea223f7b3e4e2',
  };
  it('for every subset at 28 and 64 px, two seeds and two difficulties', () => {
    const digests: Record<string, string> = {};
    for (const subset of Object.keys(SUBSET_STYLES) as SubsetName[]) {
      const h = createHash('sha256');
      for (const size of [28, 64])
        for (const seed of [1, 7]) {
          const a = syntheticSubsetArrays(subset, {
            seed,
            count: size === 28 ? 40 : 8,
            size,
            difficulty: seed === 7 ? 0.9 : 0.3,
          });
          h.update(a.images).update(a.labels);
        }
      digests[subset] = h.digest('hex');
    }
    expect(digests).toEqual(SUBSET_DIGESTS);
  });
  it('for every client (syntheticClient: images, questions, answers and their order)', () => {
    const digests: Record<string, string> = {};
    for (const name of CLIENT_NAMES) {
      const h = createHash('sha256');
      const { train, test } = syntheticClient(name, { seed: 1 });
      for (const s of [...train, ...test])
        h.update(s.image).update(
          `${s.size} ${s.channels}|${s.question}|${s.answer}|${s.questionType}\n`,
        );
      digests[name] = h.digest('hex');
    }
    expect(digests).toEqual(CLIENT_DIGESTS);
  });
});

describe('the subsets of one client look like their sources', () => {
  /** The first `count` images of each subset, labelled by the subset's index. */
  const bySubset = (
    subsets: readonly SubsetName[],
    seed: number,
    count: number,
  ): MedMnistArrays => {
    const parts = subsets.map((s) => syntheticSubsetArrays(s, { seed, count }));
    const P = parts[0].size * parts[0].size * parts[0].channels;
    const images = new Uint8Array(P * count * parts.length);
    const labels = new Uint8Array(count * parts.length);
    parts.forEach((a, k) => {
      images.set(a.images.subarray(0, P * count), P * count * k);
      labels.fill(k, count * k, count * (k + 1));
    });
    const { size, channels } = parts[0];
    return { images, labels, count: count * parts.length, size, channels, labelWidth: 1 };
  };
  // Before the paediatric scene PneumoniaMNIST's normal class was ChestMNIST's "no finding"
  // scene and a nearest centroid told the two subsets apart at 0.63; before the planes'
  // anatomy, the three CT views at 0.68 (seeds 1 / 2, 300 / 150 images a subset).
  it('chestmnist (adults) and pneumoniamnist (small children) are told apart on pixels', () => {
    const subsets = ['chestmnist', 'pneumoniamnist'] as const;
    const r = nearestCentroidAccuracy(bySubset(subsets, 1, 300), bySubset(subsets, 2, 150));
    expect(r.accuracy).toBeGreaterThan(0.95);
  });
  it('the axial, coronal and sagittal CT planes are told apart on pixels', () => {
    const subsets = ['organamnist', 'organcmnist', 'organsmnist'] as const;
    const r = nearestCentroidAccuracy(bySubset(subsets, 1, 300), bySubset(subsets, 2, 150));
    expect(r.accuracy).toBeGreaterThan(0.75);
  });
});

describe('client sizes (docs/method.md §5 counts)', () => {
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
