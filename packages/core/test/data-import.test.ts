import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import {
  answerVocabulary,
  clientFromMedMnistFiles,
  clientOfSubset,
  partitionDirichlet,
  partitionIid,
  sampleGamma,
  subsampleArrays,
  syntheticClient,
  syntheticSubsetArrays,
  writeMedMnistNpz,
  type SubsetName,
} from '../src/data/index.js';
import { mulberry32 } from '../src/random.js';

const FIX = join(dirname(fileURLToPath(import.meta.url)), 'fixtures', 'data');

const npzOf = (subset: SubsetName, n: number, size = 28): Uint8Array =>
  writeMedMnistNpz({
    train: syntheticSubsetArrays(subset, { seed: 1, count: n, size }),
    val: syntheticSubsetArrays(subset, { seed: 2, count: 2, size }),
    test: syntheticSubsetArrays(subset, { seed: 3, count: 3, size }),
  });

describe('clientFromMedMnistFiles', () => {
  it('pools the splits of every file of a client and splits 80/20', () => {
    const d = clientFromMedMnistFiles(
      'chest_xray',
      [
        { name: 'chestmnist.npz', bytes: npzOf('chestmnist', 30) },
        { name: 'pneumoniamnist.npz', bytes: npzOf('pneumoniamnist', 15) },
      ],
      { seed: 1 },
    );
    expect(d.train.length + d.test.length).toBe(35 + 20);
    expect(d.test.length).toBe(11);
    const vocab = new Set(answerVocabulary());
    expect([...d.train, ...d.test].every((s) => vocab.has(s.answer))).toBe(true);
  });

  it('reads the NumPy-written fixture when the subset is given explicitly', () => {
    const bytes = new Uint8Array(readFileSync(join(FIX, 'numpy-gray28-octmnist.npz')));
    const d = clientFromMedMnistFiles('oct', [{ name: 'upload.npz', bytes, subset: 'octmnist' }], {
      seed: 2,
    });
    expect(d.train.length + d.test.length).toBe(6);
  });

  it('names the problem with the files', () => {
    const bytes = npzOf('octmnist', 4);
    expect(() => clientFromMedMnistFiles('oct', [{ name: 'x.npz', bytes }], { seed: 1 })).toThrow(
      /not a MedMNIST file name/,
    );
    expect(() =>
      clientFromMedMnistFiles('fundus', [{ name: 'octmnist.npz', bytes }], { seed: 1 }),
    ).toThrow(/belongs to client oct, not fundus/);
    expect(() =>
      clientFromMedMnistFiles('oct', [{ name: 'octmnist.npz', bytes: bytes.slice(0, 50) }], {
        seed: 1,
      }),
    ).toThrow(/octmnist\.npz: corrupt or truncated/);
    expect(() =>
      clientFromMedMnistFiles('oct', [{ name: 'octmnist_64.npz', bytes: npzOf('pathmnist', 3) }], {
        seed: 1,
      }),
    ).toThrow(/3 channel\(s\), octmnist has 1/);
  });

  it('checks the size a MedMNIST+ name promises', () => {
    expect(() =>
      clientFromMedMnistFiles('oct', [{ name: 'octmnist_64.npz', bytes: npzOf('octmnist', 3) }], {
        seed: 1,
      }),
    ).toThrow(/octmnist_64\.npz: the name says 64px, the file holds 28px/);
    const d = clientFromMedMnistFiles(
      'oct',
      [{ name: 'octmnist_64.npz', bytes: npzOf('octmnist', 3, 64) }],
      {
        seed: 1,
      },
    );
    expect(d.train[0].size).toBe(64);
  });

  it('caps each file at maxPerSubset with a seeded subsample', () => {
    const d = clientFromMedMnistFiles(
      'oct',
      [{ name: 'octmnist.npz', bytes: npzOf('octmnist', 60) }],
      {
        seed: 1,
        maxPerSubset: 20,
      },
    );
    expect(d.train.length + d.test.length).toBe(20);
    const a = syntheticSubsetArrays('octmnist', { seed: 1, count: 10 });
    const s = subsampleArrays(a, 4, 9);
    expect(s.count).toBe(4);
    expect(s.images.length).toBe(4 * 784);
    expect(subsampleArrays(a, 4, 9).images).toEqual(s.images);
    expect(clientOfSubset('pneumoniamnist')).toBe('chest_xray');
    expect(clientOfSubset('organcmnist')).toBe('abdominal_ct');
  });
});

describe('partitions', () => {
  const samples = syntheticClient('blood_microscope', { seed: 1, floor: 300 }).train;

  it('IID parts are balanced and cover the samples once', () => {
    const parts = partitionIid(samples, 4, 1);
    expect(parts.map((p) => p.length).sort()).toEqual([60, 60, 60, 60]);
    expect(new Set(parts.flat()).size).toBe(samples.length);
    expect(() => partitionIid(samples, 0, 1)).toThrow(/k must be/);
  });

  it('Gamma draws match the mean and variance of Gamma(a, 1)', () => {
    for (const a of [0.3, 1, 4]) {
      const rand = mulberry32(7);
      const xs = Array.from({ length: 20_000 }, () => sampleGamma(a, rand));
      const m = xs.reduce((x, y) => x + y, 0) / xs.length;
      const v = xs.reduce((x, y) => x + (y - m) ** 2, 0) / xs.length;
      expect(Math.abs(m - a) / a, `mean a=${a}`).toBeLessThan(0.04);
      expect(Math.abs(v - a) / a, `var a=${a}`).toBeLessThan(0.1);
    }
  });

  it('Dirichlet parts cover the samples; small alpha skews answers more than large alpha', () => {
    const skew = (alpha: number): number => {
      const parts = partitionDirichlet(samples, 4, alpha, 3);
      expect(new Set(parts.flat()).size).toBe(samples.length);
      // Mean over answers of the largest share one part holds.
      const answers = [...new Set(samples.map((s) => s.answer))];
      const shares = answers.map((a) => {
        const counts = parts.map((p) => p.filter((s) => s.answer === a).length);
        return Math.max(...counts) / counts.reduce((x, y) => x + y, 0);
      });
      return shares.reduce((x, y) => x + y, 0) / shares.length;
    };
    expect(skew(0.1)).toBeGreaterThan(skew(100) + 0.3);
  });
});
