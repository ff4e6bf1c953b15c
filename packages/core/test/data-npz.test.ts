import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { zipSync } from 'fflate';
import { describe, expect, it } from 'vitest';
import { mulberry32 } from '../src/random.js';
import {
  centralDirectoryCrcs,
  crc32,
  encodeNpy,
  parseMedMnistFileName,
  parseNpy,
  readMedMnistNpz,
  readNpz,
  syntheticSubsetArrays,
  writeMedMnistNpz,
  writeNpz,
  type MedMnistArrays,
  type NpyArray,
  type SubsetName,
} from '../src/data/index.js';

const FIX = join(dirname(fileURLToPath(import.meta.url)), 'fixtures', 'data');
const fixture = (f: string): Uint8Array => new Uint8Array(readFileSync(join(FIX, f)));

type Split = 'train' | 'val' | 'test';
const splitsOf = (
  subset: SubsetName,
  size: number,
  counts = [6, 2, 3],
): Record<Split, MedMnistArrays> => ({
  train: syntheticSubsetArrays(subset, { seed: 1, count: counts[0], size }),
  val: syntheticSubsetArrays(subset, { seed: 2, count: counts[1], size }),
  test: syntheticSubsetArrays(subset, { seed: 3, count: counts[2], size }),
});

/** A valid small MedMNIST npz as raw arrays, which tests then break one field at a time. */
function rawArrays(): Record<string, NpyArray> {
  const out: Record<string, NpyArray> = {};
  for (const [s, n] of [
    ['train', 4],
    ['val', 2],
    ['test', 2],
  ] as const) {
    out[`${s}_images`] = { dtype: 'u1', shape: [n, 28, 28], data: new Uint8Array(n * 784).fill(7) };
    out[`${s}_labels`] = { dtype: 'u1', shape: [n, 1], data: new Uint8Array(n).fill(1) };
  }
  return out;
}

describe('npz reader against NumPy-written files', () => {
  const expected = JSON.parse(readFileSync(join(FIX, 'numpy-expected.json'), 'utf8')) as Record<
    string,
    Record<string, { shape: number[]; sum: number; first: number; last: number }>
  >;
  for (const [file, keys] of Object.entries(expected)) {
    it(`reads ${file} exactly`, () => {
      const arrays = readNpz(fixture(file));
      expect(Object.keys(arrays).sort()).toEqual(Object.keys(keys).sort());
      for (const [key, e] of Object.entries(keys)) {
        const a = arrays[key];
        expect(a.shape, key).toEqual(e.shape);
        let sum = 0;
        for (const v of a.data) sum += v;
        expect(sum, key).toBe(e.sum);
        expect(a.data[0], key).toBe(e.first);
        expect(a.data[a.data.length - 1], key).toBe(e.last);
      }
    });
  }

  it('validates the NumPy files as MedMNIST subsets', () => {
    const oct = readMedMnistNpz(fixture('numpy-gray28-octmnist.npz'), { subset: 'octmnist' });
    expect([oct.size, oct.channels, oct.labelWidth, oct.splits.train.count]).toEqual([28, 1, 1, 3]);
    const blood = readMedMnistNpz(fixture('numpy-rgb64-bloodmnist.npz'), { subset: 'bloodmnist' });
    expect([blood.size, blood.channels, blood.splits.test.count]).toEqual([64, 3, 2]);
    // pixel (i, y, x, c) = (7i + 3y + 5x + 11c) mod 256 in the fixture
    const px = (i: number, y: number, x: number, c: number): number =>
      blood.splits.train.images[((i * 64 + y) * 64 + x) * 3 + c];
    expect(px(1, 10, 20, 2)).toBe((7 + 30 + 100 + 22) % 256);
    expect(() =>
      readMedMnistNpz(fixture('numpy-gray28-octmnist.npz'), { subset: 'bloodmnist' }),
    ).toThrow(/1 channel\(s\), bloodmnist has 3/);
  });
});

describe('npz round trip', () => {
  const cases: [SubsetName, number, boolean][] = [
    ['octmnist', 28, false],
    ['pathmnist', 28, true],
    ['breastmnist', 64, true],
    ['dermamnist', 64, false],
    ['chestmnist', 28, true],
  ];
  for (const [subset, size, compress] of cases) {
    it(`${subset} ${size}px ${compress ? 'deflated' : 'stored'}`, () => {
      const splits = splitsOf(subset, size);
      const back = readMedMnistNpz(writeMedMnistNpz(splits, { compress }), { subset });
      expect(back.size).toBe(size);
      for (const s of ['train', 'val', 'test'] as const) {
        expect(back.splits[s].count).toBe(splits[s].count);
        expect(back.splits[s].labelWidth).toBe(subset === 'chestmnist' ? 14 : 1);
        expect(Array.from(back.splits[s].images)).toEqual(Array.from(splits[s].images));
        expect(Array.from(back.splits[s].labels)).toEqual(Array.from(splits[s].labels));
      }
    });
  }

  it('round-trips every dtype through .npy, including negatives and 1-D shapes', () => {
    for (const dtype of ['i1', 'u2', 'i2', 'u4', 'i4', 'u8', 'i8', 'f4', 'f8'] as const) {
      const signed = dtype.startsWith('i') || dtype.startsWith('f');
      const data = Float64Array.from([0, 1, 100, signed ? -5 : 5, dtype.startsWith('f') ? 0.5 : 9]);
      const back = parseNpy(encodeNpy({ dtype, shape: [5], data }));
      expect(back.shape).toEqual([5]);
      expect(Array.from(back.data), dtype).toEqual(Array.from(data));
    }
    const bytes = encodeNpy({ dtype: 'u1', shape: [2, 3], data: new Uint8Array(6) });
    expect((bytes.length - 6) % 64).toBe(0); // NumPy aligns the data to 64 bytes
  });
});

describe('npz errors', () => {
  const expectError = (arrays: Record<string, NpyArray>, re: RegExp, subset?: SubsetName): void => {
    expect(() => readMedMnistNpz(writeNpz(arrays), { subset })).toThrow(re);
  };

  it('accepts the unbroken baseline', () => {
    expect(readMedMnistNpz(writeNpz(rawArrays()), { subset: 'octmnist' }).splits.train.count).toBe(
      4,
    );
  });

  it('corrupt and truncated zips', () => {
    const good = writeNpz(rawArrays(), { compress: true });
    expect(() => readMedMnistNpz(good.slice(0, good.length >> 1))).toThrow(
      /corrupt or truncated \.npz/,
    );
    expect(() => readMedMnistNpz(new Uint8Array(100).fill(3))).toThrow(
      /corrupt or truncated \.npz/,
    );
  });

  it('missing keys are named', () => {
    const a = rawArrays();
    delete a.val_labels;
    expectError(a, /missing key\(s\) val_labels/);
  });

  it('wrong dtype, shape and size', () => {
    const a = rawArrays();
    a.train_images = { dtype: 'f4', shape: [4, 28, 28], data: new Float64Array(4 * 784) };
    expectError(a, /train_images has dtype f4, expected uint8/);
    const b = rawArrays();
    b.val_images = { dtype: 'u1', shape: [2, 28, 30], data: new Uint8Array(2 * 840) };
    expectError(b, /val_images has shape \(2, 28, 30\)/);
    const c = rawArrays();
    c.test_images = { dtype: 'u1', shape: [2, 28, 28, 2], data: new Uint8Array(2 * 784 * 2) };
    expectError(c, /test_images has shape \(2, 28, 28, 2\)/);
    const d = rawArrays();
    for (const s of ['train', 'val', 'test']) {
      const n = d[`${s}_images`].shape[0];
      d[`${s}_images`] = { dtype: 'u1', shape: [n, 32, 32], data: new Uint8Array(n * 1024) };
    }
    expectError(d, /32px images, expected one of 28, 64, 128, 224/);
    const e = rawArrays();
    e.train_labels = { dtype: 'f8', shape: [4, 1], data: new Float64Array(4) };
    expectError(e, /train_labels: dtype f8 is not an integer type/);
  });

  it('label count mismatch, wrong label width, out-of-range labels, split mismatch', () => {
    const a = rawArrays();
    a.train_labels = { dtype: 'u1', shape: [3, 1], data: new Uint8Array(3) };
    expectError(a, /label count mismatch: train_labels has 3 rows, train_images has 4/);
    expectError(rawArrays(), /labels have 1 column\(s\), chestmnist needs 14/, 'chestmnist');
    const b = rawArrays();
    b.test_labels = { dtype: 'u1', shape: [2, 1], data: Uint8Array.from([0, 9]) };
    expectError(b, /label 9 at row 1 exceeds 3/, 'octmnist');
    const c = rawArrays();
    c.val_images = { dtype: 'u1', shape: [2, 64, 64], data: new Uint8Array(2 * 4096) };
    expectError(c, /val split has 64px/);
  });

  it('bad and truncated .npy members', () => {
    const good = encodeNpy({ dtype: 'u1', shape: [4, 28, 28], data: new Uint8Array(4 * 784) });
    const files: Record<string, Uint8Array> = {};
    for (const [k, v] of Object.entries(rawArrays())) files[`${k}.npy`] = encodeNpy(v);
    files['train_images.npy'] = good.slice(0, good.length - 10);
    expect(() => readMedMnistNpz(zipSync(files))).toThrow(/train_images: truncated data/);
    files['train_images.npy'] = new Uint8Array(200);
    expect(() => readMedMnistNpz(zipSync(files))).toThrow(/train_images: not a \.npy file/);
    const fortran = new TextDecoder('latin1').decode(good.slice(0, 128)).replace('False', 'True ');
    const f = good.slice();
    for (let i = 0; i < fortran.length; i++) f[i] = fortran.charCodeAt(i);
    files['train_images.npy'] = f;
    expect(() => readMedMnistNpz(zipSync(files))).toThrow(/Fortran-ordered/);
  });

  it('recognises MedMNIST file names', () => {
    expect(parseMedMnistFileName('pathmnist.npz')).toEqual({ subset: 'pathmnist', size: 28 });
    expect(parseMedMnistFileName('/x/organsmnist_224.npz')).toEqual({
      subset: 'organsmnist',
      size: 224,
    });
    expect(parseMedMnistFileName('bloodmnist_28.npz')).toEqual({ subset: 'bloodmnist', size: 28 });
    expect(parseMedMnistFileName('cifar10.npz')).toBeUndefined();
    expect(parseMedMnistFileName('pathmnist_32.npz')).toBeUndefined();
  });
});

describe('zip integrity', () => {
  it('crc32 gives the standard check value', () => {
    // CRC-32/ISO-HDLC check value of "123456789" (also what Python's zlib.crc32 returns).
    expect(crc32(new TextEncoder().encode('123456789'))).toBe(0xcbf43926);
    expect(crc32(new Uint8Array(0))).toBe(0);
  });

  it('finds every member CRC in NumPy (Zip64 members) and fflate archives', () => {
    const keys = ['train', 'val', 'test']
      .flatMap((s) => [`${s}_images.npy`, `${s}_labels.npy`])
      .sort();
    expect([...centralDirectoryCrcs(fixture('numpy-gray28-octmnist.npz')).keys()].sort()).toEqual(
      keys,
    );
    expect([...centralDirectoryCrcs(writeNpz(rawArrays())).keys()].sort()).toEqual(keys);
  });

  it('single bit flips never pass silently: same data or an error naming the file', () => {
    const sources: [string, Uint8Array][] = [
      ['stored', writeNpz(rawArrays())],
      ['deflated', writeMedMnistNpz(splitsOf('octmnist', 28, [4, 2, 2]), { compress: true })],
      ['numpy', fixture('numpy-gray28-octmnist.npz')],
    ];
    for (const [label, good] of sources) {
      const ref = readMedMnistNpz(good);
      const rand = mulberry32(label.length);
      let detected = 0;
      for (let t = 0; t < 150; t++) {
        const bad = good.slice();
        bad[Math.floor(rand() * bad.length)] ^= 1 << Math.floor(rand() * 8);
        let got: ReturnType<typeof readMedMnistNpz>;
        try {
          got = readMedMnistNpz(bad, { name: 'f.npz' });
        } catch (e) {
          expect((e as Error).message, label).toMatch(/^f\.npz: /);
          detected++;
          continue;
        }
        for (const s of ['train', 'val', 'test'] as const) {
          expect(got.splits[s].images, label).toEqual(ref.splits[s].images);
          expect(got.splits[s].labels, label).toEqual(ref.splits[s].labels);
        }
      }
      expect(detected, label).toBeGreaterThan(100);
    }
  });
});
