// Every supported transfer syntax decodes to the right pixels: images built here, encoded by
// dcmjs-codecs (its own dcmtk / CharLS / OpenJPEG wasm build), decoded by the importer's
// codecs, compared with the original stored values. Lossless: exact. Lossy: the documented
// tolerance of each encoder setting (below).
import { beforeAll, describe, expect, it } from 'vitest';
import { decodeDicom, readDicomFrame } from '../src/import/dicom.js';
import { decodeRleFrame } from '../src/import/dicom-rle.js';
import { mulberry32 } from '@focus-fl/core/random';
import { UIDS, dicomFile, initEncoders, type FixtureImage } from './helpers/dicom-fixtures.js';
import { nodeDecoders } from './helpers/wasm-node.js';

const decoders = nodeDecoders();

/** A smooth 12-bit image with noise and edges (rows != cols, to catch transposes). */
function image12(rows: number, cols: number, seed: number, frames = 1): Uint16Array {
  const rand = mulberry32(seed);
  const out = new Uint16Array(rows * cols * frames);
  for (let f = 0; f < frames; f++)
    for (let y = 0; y < rows; y++)
      for (let x = 0; x < cols; x++) {
        const smooth = 1800 + 1200 * Math.sin(x / 5 + f) * Math.cos(y / 7);
        const edge = x > cols / 2 && y < rows / 3 ? 700 : 0;
        out[(f * rows + y) * cols + x] = Math.max(
          0,
          Math.min(4095, Math.round(smooth + edge + (rand() - 0.5) * 60)),
        );
      }
  return out;
}

function image8(rows: number, cols: number, seed: number): Uint8Array {
  const rand = mulberry32(seed);
  return Uint8Array.from({ length: rows * cols }, (_, i) => {
    const x = i % cols;
    const y = Math.floor(i / cols);
    return Math.max(
      0,
      Math.min(255, Math.round(128 + 90 * Math.sin(x / 6) * Math.cos(y / 9) + (rand() - 0.5) * 10)),
    );
  });
}

const maxAbsDiff = (a: ArrayLike<number>, b: ArrayLike<number>): number => {
  expect(a.length).toBe(b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
};

const rmse = (a: ArrayLike<number>, b: ArrayLike<number>): number => {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += (a[i] - b[i]) ** 2;
  return Math.sqrt(s / a.length);
};

beforeAll(async () => {
  await initEncoders();
});

describe('DICOM transfer syntaxes decode to the original pixels', () => {
  const rows = 40;
  const cols = 52;
  const pixels = image12(rows, cols, 7);
  const gray16: FixtureImage = { rows, cols, bits: 16, bitsStored: 12, pixels };

  const lossless: [string, string][] = [
    ['implicit VR little endian', UIDS.implicitLE],
    ['explicit VR little endian', UIDS.explicitLE],
    ['explicit VR big endian', UIDS.explicitBE],
    ['deflated explicit VR little endian', UIDS.deflated],
    ['RLE lossless', UIDS.rle],
    ['JPEG lossless (process 14, SV1)', UIDS.jpegLossless],
    ['JPEG-LS lossless', UIDS.jpegLsLossless],
    ['JPEG 2000 lossless', UIDS.j2kLossless],
    ['HTJ2K lossless', '1.2.840.10008.1.2.4.201'],
    ['HTJ2K lossless RPCL', '1.2.840.10008.1.2.4.202'],
  ];

  it.each(lossless)('%s: exact (16-bit, 12 stored)', async (_label, ts) => {
    const file = await dicomFile(gray16, ts);
    const f = await readDicomFrame('x.dcm', file, decoders);
    expect(f.transferSyntax).toBe(ts);
    expect([f.rows, f.cols]).toEqual([rows, cols]);
    expect(maxAbsDiff(f.values!, pixels)).toBe(0);
  });

  it('JPEG-LS near-lossless: every pixel within the encoder NEAR bound (10)', async () => {
    const file = await dicomFile(gray16, UIDS.jpegLsNear, { params: { allowedLossyError: 10 } });
    const f = await readDicomFrame('x.dcm', file, decoders);
    // JPEG-LS near-lossless guarantees |error| <= NEAR for every sample (ISO 14495-1).
    const d = maxAbsDiff(f.values!, pixels);
    expect(d).toBeLessThanOrEqual(10);
    expect(d).toBeGreaterThan(0); // really lossy: the test would catch a lossless mix-up
  });

  it('JPEG 2000 lossy (compression ratio 5): RMSE under 1% of the 12-bit range', async () => {
    const file = await dicomFile(gray16, UIDS.j2kLossy, { params: { rate: 5 } });
    const f = await readDicomFrame('x.dcm', file, decoders);
    const e = rmse(f.values!, pixels);
    expect(e).toBeLessThan(0.01 * 4095);
    expect(e).toBeGreaterThan(0);
  });

  it('HTJ2K lossy (compression ratio 5): RMSE under 1% of the 12-bit range', async () => {
    const file = await dicomFile(gray16, '1.2.840.10008.1.2.4.203', { params: { rate: 5 } });
    const f = await readDicomFrame('x.dcm', file, decoders);
    expect(rmse(f.values!, pixels)).toBeLessThan(0.01 * 4095);
  });

  it('JPEG baseline (8-bit, quality 90): RMSE under 3 grey levels', async () => {
    const p8 = image8(rows, cols, 3);
    const file = await dicomFile({ rows, cols, bits: 8, pixels: p8 }, UIDS.jpegBaseline);
    const f = await readDicomFrame('x.dcm', file, decoders);
    expect(rmse(f.values!, p8)).toBeLessThan(3);
  });

  it('8-bit grey through RLE and JPEG lossless is exact too', async () => {
    const p8 = image8(rows, cols, 4);
    for (const ts of [UIDS.rle, UIDS.jpegLossless, UIDS.jpegLsLossless, UIDS.j2kLossless]) {
      const f = await readDicomFrame(
        'x.dcm',
        await dicomFile({ rows, cols, bits: 8, pixels: p8 }, ts),
        decoders,
      );
      expect(maxAbsDiff(f.values!, p8), ts).toBe(0);
    }
  });

  it('signed 16-bit CT with rescale: modality values exact through JPEG lossless and J2K', async () => {
    const hu = Int16Array.from(pixels, (v) => v - 1024);
    const img: FixtureImage = {
      rows,
      cols,
      bits: 16,
      signed: true,
      pixels: hu,
      extra: { RescaleSlope: '2', RescaleIntercept: '-100' },
    };
    for (const ts of [UIDS.explicitLE, UIDS.jpegLossless, UIDS.j2kLossless, UIDS.jpegLsLossless]) {
      const f = await readDicomFrame('ct.dcm', await dicomFile(img, ts), decoders);
      expect(
        maxAbsDiff(
          f.values!,
          Array.from(hu, (v) => 2 * v - 100),
        ),
        ts,
      ).toBe(0);
    }
  });

  it('RGB through RLE and JPEG 2000 lossless is exact (interleaved)', async () => {
    const rand = mulberry32(11);
    const rgb = Uint8Array.from({ length: rows * cols * 3 }, () => Math.floor(rand() * 256));
    for (const ts of [UIDS.explicitLE, UIDS.rle, UIDS.j2kLossless, UIDS.jpegLsLossless]) {
      const file = await dicomFile({ rows, cols, bits: 8, samplesPerPixel: 3, pixels: rgb }, ts);
      const f = await readDicomFrame('rgb.dcm', file, decoders);
      expect(maxAbsDiff(f.rgb!, rgb), ts).toBe(0);
    }
  });

  it('multi-frame: the middle frame is the one imported', async () => {
    const frames = 5;
    const vol = image12(rows, cols, 9, frames);
    for (const ts of [UIDS.explicitLE, UIDS.jpegLossless, UIDS.j2kLossless, UIDS.rle]) {
      const file = await dicomFile(
        { rows, cols, bits: 16, bitsStored: 12, pixels: vol, frames },
        ts,
      );
      const f = await readDicomFrame('vol.dcm', file, decoders);
      expect([f.frames, f.frame]).toEqual([5, 2]);
      expect(maxAbsDiff(f.values!, vol.subarray(2 * rows * cols, 3 * rows * cols)), ts).toBe(0);
    }
  });
});

describe('DICOM display mapping is the same for every syntax', () => {
  it('compressed and uncompressed files give identical stored images (window, MONOCHROME1)', async () => {
    const rows = 32;
    const cols = 32;
    const pixels = image12(rows, cols, 5);
    const extra = {
      WindowCenter: '2000',
      WindowWidth: '1500',
      PhotometricInterpretation: 'MONOCHROME1',
    };
    const img: FixtureImage = {
      rows,
      cols,
      bits: 16,
      bitsStored: 12,
      pixels,
      extra,
      photometric: 'MONOCHROME1',
    };
    const ref = await decodeDicom('a.dcm', await dicomFile(img, UIDS.explicitLE), decoders);
    // By hand: PS3.3 C.11.2.1.2 linear window, then inverted.
    const lo = 2000 - 0.5 - 1499 / 2;
    const want = Array.from(
      pixels,
      (v) => 255 - Math.round(255 * Math.min(1, Math.max(0, (v - lo) / 1499))),
    );
    expect([...ref.data]).toEqual(want);
    for (const ts of [
      UIDS.jpegLossless,
      UIDS.j2kLossless,
      UIDS.jpegLsLossless,
      UIDS.rle,
      UIDS.deflated,
    ]) {
      const got = await decodeDicom('b.dcm', await dicomFile(img, ts), decoders);
      expect([...got.data], ts).toEqual([...ref.data]);
    }
  });

  it('reads the SOPInstanceUID for a labels CSV keyed by it', async () => {
    const img: FixtureImage = { rows: 8, cols: 8, bits: 8, pixels: new Uint8Array(64) };
    const d = await decodeDicom(
      'u.dcm',
      await dicomFile(img, UIDS.jpegLossless, { sopUid: '1.2.3.4.5' }),
      decoders,
    );
    expect(d.sopInstanceUid).toBe('1.2.3.4.5');
  });
});

describe('bad DICOM gets one clear line naming the file and the reason', () => {
  it('an unsupported syntax names itself and lists what is supported', async () => {
    // JPEG XL, which dcmjs-codecs writes and this importer does not read.
    const file = await dicomFile(
      { rows: 8, cols: 8, bits: 8, pixels: image8(8, 8, 1) },
      '1.2.840.10008.1.2.4.110',
    );
    await expect(readDicomFrame('xl.dcm', file, decoders)).rejects.toThrow(
      /^xl\.dcm: transfer syntax 1\.2\.840\.10008\.1\.2\.4\.110 \(JPEG XL lossless\) is not supported; supported: .*JPEG 2000/,
    );
  });

  it('a corrupt compressed frame names the file, the codec and the frame', async () => {
    const file = await dicomFile(
      { rows: 16, cols: 16, bits: 16, pixels: image12(16, 16, 1) },
      UIDS.jpegLossless,
    );
    const broken = file.slice();
    // Destroy the JPEG start-of-image marker of the frame.
    const soi = broken.findIndex(
      (b, i) => b === 0xff && broken[i + 1] === 0xd8 && broken[i + 2] === 0xff,
    );
    expect(soi).toBeGreaterThan(132);
    broken[soi + 1] = 0x00;
    await expect(readDicomFrame('bad.dcm', broken, decoders)).rejects.toThrow(
      /^bad\.dcm: JPEG lossless \(process 14, SV1\) frame 1\/1: /,
    );
  });

  it('RLE segment tables are checked', () => {
    expect(() => decodeRleFrame(new Uint8Array(10), 2, 2, 1, 8)).toThrow(/under its header/);
    const h = new Uint8Array(64);
    h[0] = 2;
    expect(() => decodeRleFrame(h, 2, 2, 1, 8)).toThrow(/2 segments, 1x8 bit needs 1/);
  });
});
