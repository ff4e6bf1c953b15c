// Reader and writer for NumPy .npy/.npz and the MedMNIST .npz layout (docs/method.md §5: keys
// train_images, train_labels, val_*, test_*; uint8 images N x S x S [x 3]; labels N x 1 or
// N x 14). Browser-safe: bytes in, typed arrays out. fflate handles stored and deflated zips
// (np.savez and np.savez_compressed).

import { unzipSync, zipSync, type Zippable } from 'fflate';
import { labelWidth, subsetInfo, SUBSET_NAMES, type SubsetName } from './medmnist.js';
import type { MedMnistArrays } from './types.js';
import { centralDirectoryCrcs, crc32 } from './zip-crc.js';
import { validateArrays } from './vqa.js';

export type NpyDtype = 'u1' | 'i1' | 'u2' | 'i2' | 'u4' | 'i4' | 'u8' | 'i8' | 'f4' | 'f8';

/** A decoded .npy array. Integer and float data are widened to Float64Array except uint8,
 * which stays a Uint8Array view (images are the bulk of MedMNIST files). */
export interface NpyArray {
  dtype: NpyDtype;
  shape: number[];
  data: Uint8Array | Float64Array;
}

const MAGIC = [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]; // "\x93NUMPY"
const ITEM: Record<NpyDtype, number> = {
  u1: 1,
  i1: 1,
  u2: 2,
  i2: 2,
  u4: 4,
  i4: 4,
  u8: 8,
  i8: 8,
  f4: 4,
  f8: 8,
};

const prod = (xs: number[]): number => xs.reduce((a, b) => a * b, 1);

/** Parses one .npy file (format versions 1.0, 2.0 and 3.0). `name` prefixes errors. */
export function parseNpy(bytes: Uint8Array, name = 'array'): NpyArray {
  if (bytes.length < 10 || MAGIC.some((m, i) => bytes[i] !== m)) {
    throw new Error(`${name}: not a .npy file (bad magic)`);
  }
  const major = bytes[6];
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let headerLen: number;
  let start: number;
  if (major === 1) {
    headerLen = dv.getUint16(8, true);
    start = 10;
  } else if (major === 2 || major === 3) {
    if (bytes.length < 12) throw new Error(`${name}: truncated .npy header`);
    headerLen = dv.getUint32(8, true);
    start = 12;
  } else {
    throw new Error(`${name}: unsupported .npy format version ${major}.${bytes[7]}`);
  }
  if (start + headerLen > bytes.length) throw new Error(`${name}: truncated .npy header`);
  const header = new TextDecoder(major === 3 ? 'utf-8' : 'latin1').decode(
    bytes.subarray(start, start + headerLen),
  );
  const descr = /'descr'\s*:\s*'([^']*)'/.exec(header)?.[1];
  const fortran = /'fortran_order'\s*:\s*(True|False)/.exec(header)?.[1];
  const shapeText = /'shape'\s*:\s*\(([^)]*)\)/.exec(header)?.[1];
  if (descr === undefined || fortran === undefined || shapeText === undefined) {
    throw new Error(`${name}: malformed .npy header ${JSON.stringify(header.trim())}`);
  }
  if (fortran === 'True') throw new Error(`${name}: Fortran-ordered arrays are not supported`);
  const shape = shapeText
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s.length > 0)
    .map((s) => {
      const v = Number(s.replace(/L$/, ''));
      if (!Number.isInteger(v) || v < 0) throw new Error(`${name}: bad shape (${shapeText})`);
      return v;
    });
  const m = /^([<>|=])([uif])(\d)$/.exec(descr);
  const dtype = m ? ((m[2] + m[3]) as NpyDtype) : undefined;
  if (!m || !dtype || !(dtype in ITEM)) {
    throw new Error(`${name}: unsupported dtype '${descr}' (expected an integer or float type)`);
  }
  const little = m[1] !== '>';
  const n = prod(shape);
  const item = ITEM[dtype];
  const dataStart = start + headerLen;
  const available = bytes.length - dataStart;
  if (available < n * item) {
    throw new Error(
      `${name}: truncated data: shape (${shape.join(', ')}) of ${descr} needs ${n * item} bytes, file has ${available}`,
    );
  }
  // A view, not a copy: image arrays are the bulk of a MedMNIST file (arraysToVqa copies each
  // image out, so samples never pin the whole file's buffer).
  if (dtype === 'u1') return { dtype, shape, data: bytes.subarray(dataStart, dataStart + n) };
  const out = new Float64Array(n);
  const read: (o: number) => number = {
    i1: (o: number) => dv.getInt8(o),
    u2: (o: number) => dv.getUint16(o, little),
    i2: (o: number) => dv.getInt16(o, little),
    u4: (o: number) => dv.getUint32(o, little),
    i4: (o: number) => dv.getInt32(o, little),
    u8: (o: number) => Number(dv.getBigUint64(o, little)),
    i8: (o: number) => Number(dv.getBigInt64(o, little)),
    f4: (o: number) => dv.getFloat32(o, little),
    f8: (o: number) => dv.getFloat64(o, little),
  }[dtype];
  for (let i = 0; i < n; i++) out[i] = read(dataStart + i * item);
  return { dtype, shape, data: out };
}

/** Encodes a little-endian .npy (format 1.0, header padded to 64 bytes as NumPy does). */
export function encodeNpy(arr: NpyArray): Uint8Array {
  const n = prod(arr.shape);
  if (arr.data.length !== n) {
    throw new Error(
      `encodeNpy: data has ${arr.data.length} values, shape (${arr.shape.join(', ')}) needs ${n}`,
    );
  }
  const descr = `${ITEM[arr.dtype] === 1 ? '|' : '<'}${arr.dtype}`;
  const shape = arr.shape.length === 1 ? `(${arr.shape[0]},)` : `(${arr.shape.join(', ')})`;
  let header = `{'descr': '${descr}', 'fortran_order': False, 'shape': ${shape}, }`;
  const total = 10 + header.length + 1;
  header += ' '.repeat((64 - (total % 64)) % 64) + '\n';
  const item = ITEM[arr.dtype];
  const out = new Uint8Array(10 + header.length + n * item);
  out.set(MAGIC);
  out[6] = 1;
  out[7] = 0;
  const dv = new DataView(out.buffer);
  dv.setUint16(8, header.length, true);
  for (let i = 0; i < header.length; i++) out[10 + i] = header.charCodeAt(i);
  const o = 10 + header.length;
  const d = arr.data;
  for (let i = 0; i < n; i++) {
    const v = d[i];
    const at = o + i * item;
    switch (arr.dtype) {
      case 'u1':
        out[at] = v;
        break;
      case 'i1':
        dv.setInt8(at, v);
        break;
      case 'u2':
        dv.setUint16(at, v, true);
        break;
      case 'i2':
        dv.setInt16(at, v, true);
        break;
      case 'u4':
        dv.setUint32(at, v, true);
        break;
      case 'i4':
        dv.setInt32(at, v, true);
        break;
      case 'u8':
        dv.setBigUint64(at, BigInt(v), true);
        break;
      case 'i8':
        dv.setBigInt64(at, BigInt(v), true);
        break;
      case 'f4':
        dv.setFloat32(at, v, true);
        break;
      case 'f8':
        dv.setFloat64(at, v, true);
        break;
    }
  }
  return out;
}

/** Reads every `<key>.npy` member of an .npz archive. */
export function readNpz(bytes: Uint8Array, name = 'npz'): Record<string, NpyArray> {
  let files: Record<string, Uint8Array>;
  try {
    files = unzipSync(bytes);
  } catch (e) {
    throw new Error(`${name}: corrupt or truncated .npz (zip): ${(e as Error).message}`);
  }
  const crcs = centralDirectoryCrcs(bytes);
  const out: Record<string, NpyArray> = {};
  for (const [file, data] of Object.entries(files)) {
    if (!file.endsWith('.npy')) continue;
    const want = crcs.get(file);
    if (want !== undefined && crc32(data) !== want) {
      throw new Error(`${name}: corrupt .npz: CRC-32 mismatch in member ${file}`);
    }
    const key = file.slice(0, -4);
    out[key] = parseNpy(data, `${name}:${key}`);
  }
  return out;
}

/** Writes an .npz; `compress` = np.savez_compressed (deflate), else np.savez (stored). */
export function writeNpz(
  arrays: Record<string, NpyArray>,
  opts: { compress?: boolean } = {},
): Uint8Array {
  const files: Zippable = {};
  for (const [key, arr] of Object.entries(arrays)) files[`${key}.npy`] = encodeNpy(arr);
  return zipSync(files, { level: opts.compress ? 6 : 0 });
}

export const MEDMNIST_SPLITS = ['train', 'val', 'test'] as const;
export type MedMnistSplit = (typeof MEDMNIST_SPLITS)[number];
export const MEDMNIST_IMAGE_SIZES = [28, 64, 128, 224] as const;

export interface MedMnistFile {
  size: number;
  channels: 1 | 3;
  labelWidth: number;
  splits: Record<MedMnistSplit, MedMnistArrays>;
}

function toLabels(arr: NpyArray, key: string): Uint8Array {
  if (arr.dtype.startsWith('f'))
    throw new Error(`${key}: dtype ${arr.dtype} is not an integer type`);
  if (arr.data instanceof Uint8Array) return arr.data;
  const out = new Uint8Array(arr.data.length);
  arr.data.forEach((v, i) => {
    if (v < 0 || v > 255) throw new Error(`${key}: label ${v} at index ${i} is out of range`);
    out[i] = v;
  });
  return out;
}

/**
 * Reads a MedMNIST .npz and checks it: all six keys, uint8 images N x S x S (gray) or
 * N x S x S x 3 with S in {28, 64, 128, 224}, integer labels N x w (or N), the same S,
 * channels and w in every split; with `subset`, also its channels, label width and range.
 */
export function readMedMnistNpz(
  bytes: Uint8Array,
  opts: { subset?: SubsetName; name?: string } = {},
): MedMnistFile {
  const name = opts.name ?? opts.subset ?? 'npz';
  const arrays = readNpz(bytes, name);
  const keys = MEDMNIST_SPLITS.flatMap((s) => [`${s}_images`, `${s}_labels`]);
  const missing = keys.filter((k) => !(k in arrays));
  if (missing.length > 0) {
    throw new Error(
      `${name}: missing key(s) ${missing.join(', ')}; found ${Object.keys(arrays).join(', ') || 'none'}`,
    );
  }
  let ref: { size: number; channels: 1 | 3; width: number } | undefined;
  const splits = {} as Record<MedMnistSplit, MedMnistArrays>;
  for (const split of MEDMNIST_SPLITS) {
    const imKey = `${split}_images`;
    const lbKey = `${split}_labels`;
    const im = arrays[imKey];
    const lb = arrays[lbKey];
    if (im.dtype !== 'u1')
      throw new Error(`${name}: ${imKey} has dtype ${im.dtype}, expected uint8`);
    const [n, h, w, c] = im.shape;
    const gray = im.shape.length === 3;
    if (!(gray || (im.shape.length === 4 && c === 3)) || h !== w) {
      throw new Error(
        `${name}: ${imKey} has shape (${im.shape.join(', ')}), expected (N, S, S) or (N, S, S, 3)`,
      );
    }
    if (!(MEDMNIST_IMAGE_SIZES as readonly number[]).includes(h)) {
      throw new Error(
        `${name}: ${imKey} has ${h}px images, expected one of ${MEDMNIST_IMAGE_SIZES.join(', ')}`,
      );
    }
    if (lb.shape.length < 1 || lb.shape.length > 2) {
      throw new Error(
        `${name}: ${lbKey} has shape (${lb.shape.join(', ')}), expected (N, 1) or (N, 14)`,
      );
    }
    if (lb.shape[0] !== n) {
      throw new Error(
        `${name}: label count mismatch: ${lbKey} has ${lb.shape[0]} rows, ${imKey} has ${n}`,
      );
    }
    const width = lb.shape.length === 2 ? lb.shape[1] : 1;
    const channels: 1 | 3 = gray ? 1 : 3;
    if (ref && (ref.size !== h || ref.channels !== channels || ref.width !== width)) {
      throw new Error(
        `${name}: ${split} split has ${h}px x ${channels}ch with ${width} label column(s), ` +
          `train has ${ref.size}px x ${ref.channels}ch with ${ref.width}`,
      );
    }
    ref = { size: h, channels, width };
    const arr: MedMnistArrays = {
      images: im.data as Uint8Array,
      labels: toLabels(lb, `${name}: ${lbKey}`),
      count: n,
      size: h,
      channels,
      labelWidth: width,
    };
    if (opts.subset) validateArrays(opts.subset, arr, `${name}: ${split}`);
    splits[split] = arr;
  }
  const r = ref as { size: number; channels: 1 | 3; width: number };
  return { size: r.size, channels: r.channels, labelWidth: r.width, splits };
}

/** Writes MedMNIST-format arrays as an .npz with the official key names. */
export function writeMedMnistNpz(
  splits: Record<MedMnistSplit, MedMnistArrays>,
  opts: { compress?: boolean } = {},
): Uint8Array {
  const arrays: Record<string, NpyArray> = {};
  for (const split of MEDMNIST_SPLITS) {
    const a = splits[split];
    if (!a) throw new Error(`writeMedMnistNpz: missing split ${split}`);
    const imShape = a.channels === 1 ? [a.count, a.size, a.size] : [a.count, a.size, a.size, 3];
    arrays[`${split}_images`] = { dtype: 'u1', shape: imShape, data: a.images };
    arrays[`${split}_labels`] = { dtype: 'u1', shape: [a.count, a.labelWidth], data: a.labels };
  }
  return writeNpz(arrays, opts);
}

/** MedMNIST file names: `{flag}.npz` (28 px) or `{flag}_{28|64|128|224}.npz` (MedMNIST+). */
export function parseMedMnistFileName(
  fileName: string,
): { subset: SubsetName; size: number } | undefined {
  const base = fileName.split(/[\\/]/).pop()?.toLowerCase() ?? '';
  const m = /^([a-z]+)(?:_(28|64|128|224))?\.npz$/.exec(base);
  if (!m || !(SUBSET_NAMES as string[]).includes(m[1])) return undefined;
  return { subset: subsetInfo(m[1]).name, size: m[2] ? Number(m[2]) : 28 };
}

/** Label width a subset's file must have (re-exported for callers validating uploads). */
export const expectedLabelWidth = labelWidth;
