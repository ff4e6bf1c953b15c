// The site importer in Node over fake-indexeddb: bad files named and skipped, the storage
// quota checked before writing, cancel and resume without duplicates, partial MedMNIST sites.
import 'fake-indexeddb/auto';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { writeMedMnistNpz, type MedMnistArrays } from '@focus-fl/core/data';
import { mulberry32 } from '@focus-fl/core/random';
import { importFiles, type ImportOptions } from '../src/import/importer.js';
import { forgetAll, getSamples, summarize } from '../src/storage.js';
import { UIDS, dicomFile, initEncoders } from './helpers/dicom-fixtures.js';
import { nodeDecoders } from './helpers/wasm-node.js';

const decoders = nodeDecoders();
const opts = (o: Partial<ImportOptions> = {}): ImportOptions => ({
  decoders,
  targetSize: 28,
  ...o,
});
const noProgress = (): void => undefined;

function split(n: number, seed: number, classes: number, size = 28): MedMnistArrays {
  const rand = mulberry32(seed);
  return {
    images: Uint8Array.from({ length: n * size * size }, () => Math.floor(rand() * 256)),
    labels: Uint8Array.from({ length: n }, () => Math.floor(rand() * classes)),
    count: n,
    size,
    channels: 1,
    labelWidth: 1,
  };
}

const npz = (per: number, classes: number, size = 28): Uint8Array =>
  writeMedMnistNpz({
    train: split(per, 1, classes, size),
    val: split(per, 2, classes, size),
    test: split(per, 3, classes, size),
  });

const file = (name: string, bytes: Uint8Array | string): File =>
  new File([typeof bytes === 'string' ? bytes : new Uint8Array(bytes)], name);

beforeAll(async () => {
  await initEncoders();
});
afterEach(async () => {
  await forgetAll();
});

describe('importFiles (fake IndexedDB)', () => {
  it('names every bad file, imports the rest, joins DICOM labels by SOPInstanceUID', async () => {
    const dcm = await dicomFile(
      { rows: 16, cols: 16, bits: 16, pixels: Uint16Array.from({ length: 256 }, (_, i) => i * 9) },
      UIDS.jpegLsLossless,
      { sopUid: '1.2.3.99' },
    );
    const r = await importFiles(
      [
        file('pneumoniamnist.npz', npz(4, 2)),
        file('pathmnist.npz', 'PK\x03\x04 truncated'),
        file('notes.txt', 'hello'),
        file('1.2.840.999.1', dcm),
        file('broken.dcm', dcm.slice(0, 300)),
        file('labels.csv', 'sop_instance_uid,label\n1.2.3.99,pneumonia\n'),
      ],
      noProgress,
      opts(),
    );
    const files = r.errors.map((e) => e.file).sort();
    expect(files).toEqual(['broken.dcm', 'notes.txt', 'pathmnist.npz']);
    for (const e of r.errors) expect(e.message.startsWith(`${e.file}: `)).toBe(true);
    expect(r.imported).toBe(12 + 1);
    const dicomRows = (await getSamples('train'))
      .concat(await getSamples('test'))
      .filter((s) => s.source === '1.2.840.999.1');
    expect(dicomRows.map((s) => s.answer)).toEqual(['pneumonia']);
    // A chest_xray site with only PneumoniaMNIST is reported as a partial site.
    expect(r.summary.medmnist).toEqual({
      chest_xray: { found: ['pneumoniamnist'], missing: ['chestmnist'] },
    });
    expect(
      r.notes.some((n) => n.startsWith('chest_xray: found pneumoniamnist; no chestmnist')),
    ).toBe(true);
  });

  it('refuses a file that would not fit the storage quota before writing it', async () => {
    const r = await importFiles(
      [file('octmnist.npz', npz(400, 4)), file('breastmnist.npz', npz(2, 2))],
      noProgress,
      opts({ estimate: async () => ({ usage: 1_000_000, quota: 1_500_000 }) }),
    );
    expect(r.errors).toHaveLength(1);
    expect(r.errors[0].message).toMatch(
      /^octmnist\.npz: 1200 images at 28 px needs about 1\.4 MiB of browser storage, 0\.5 MiB is free \(quota 1\.4 MiB\)/,
    );
    expect(r.imported).toBe(6);
  });

  it('stores MedMNIST+ 64 px images at the target side', async () => {
    const r = await importFiles([file('octmnist_64.npz', npz(3, 4, 64))], noProgress, opts());
    expect(r.imported).toBe(9);
    const rows = await getSamples('train');
    expect(rows.every((s) => s.size === 28 && s.image.length === 28 * 28)).toBe(true);
  });

  it('cancel keeps whole batches; the same file again resumes; a third time adds nothing', async () => {
    const bytes = npz(400, 4); // 1,200 images: batches 256,144 | 256,144 | 256,144
    let batches = 0;
    const first = await importFiles(
      [file('octmnist.npz', bytes)],
      () => {
        batches += 1;
      },
      opts({ cancelled: () => batches >= 2 }),
    );
    expect(first.cancelled).toBe(true);
    expect(first.imported).toBe(256 + 144);
    const second = await importFiles([file('octmnist.npz', bytes)], noProgress, opts());
    expect(second.imported).toBe(1200 - 400);
    expect(second.notes).toContain('octmnist.npz: resumed after 2 of 6 batches');
    const third = await importFiles([file('octmnist.npz', bytes)], noProgress, opts());
    expect(third.imported).toBe(0);
    expect(third.notes).toContain('octmnist.npz: already imported (skipped)');
    const s = await summarize();
    expect(s.train + s.test).toBe(1200);
    // The resumed store equals an uninterrupted import (same questions, same order).
    const resumed = (await getSamples('train')).map((x) => `${x.question}|${x.answer}`);
    await forgetAll();
    await importFiles([file('octmnist.npz', bytes)], noProgress, opts());
    expect((await getSamples('train')).map((x) => `${x.question}|${x.answer}`)).toEqual(resumed);
  });
});
