// DICOM (PS3.10 files) -> an 8-bit square image for the local store. Uncompressed transfer
// syntaxes only; anything else gets a message naming the file and the syntax.
import * as dicomParser from 'dicom-parser';
import { STORE_SIZE, resizeSquare, windowTo8bit } from './pixels.js';

const UNCOMPRESSED: Record<string, string> = {
  '1.2.840.10008.1.2': 'implicit VR little endian',
  '1.2.840.10008.1.2.1': 'explicit VR little endian',
  '1.2.840.10008.1.2.2': 'explicit VR big endian',
};

export interface DecodedImage {
  data: Uint8Array;
  size: number;
  channels: 1 | 3;
}

/** True for a Part 10 file ("DICM" at byte 128). */
export function looksLikeDicom(bytes: Uint8Array): boolean {
  return (
    bytes.length > 132 &&
    bytes[128] === 0x44 &&
    bytes[129] === 0x49 &&
    bytes[130] === 0x43 &&
    bytes[131] === 0x4d
  );
}

export function decodeDicom(name: string, bytes: Uint8Array): DecodedImage {
  let ds: dicomParser.DataSet;
  try {
    ds = dicomParser.parseDicom(bytes);
  } catch (e) {
    const msg = e instanceof Error ? e.message : String(e);
    throw new Error(`${name}: not a readable DICOM file (${msg})`);
  }
  const ts = ds.string('x00020010') ?? '1.2.840.10008.1.2';
  if (!(ts in UNCOMPRESSED)) {
    throw new Error(
      `${name}: compressed DICOM transfer syntax ${ts} is not supported; export it uncompressed`,
    );
  }
  const rows = ds.uint16('x00280010');
  const cols = ds.uint16('x00280011');
  const bits = ds.uint16('x00280100');
  const spp = ds.uint16('x00280002') ?? 1;
  const signed = ds.uint16('x00280103') === 1;
  const pix = ds.elements.x7fe00010;
  if (!rows || !cols || !bits || !pix) {
    throw new Error(`${name}: DICOM without Rows, Columns, BitsAllocated or PixelData`);
  }
  const n = rows * cols;
  const bigEndian = ts === '1.2.840.10008.1.2.2';
  const view = new DataView(bytes.buffer, bytes.byteOffset + pix.dataOffset, pix.length);
  if (spp === 3) {
    if (bits !== 8) throw new Error(`${name}: RGB DICOM with ${bits} bits is not supported`);
    const planar = ds.uint16('x00280006') === 1;
    const rgb = new Uint8Array(n * 3);
    for (let i = 0; i < n; i++) {
      for (let c = 0; c < 3; c++) {
        rgb[i * 3 + c] = view.getUint8(planar ? c * n + i : i * 3 + c);
      }
    }
    return {
      data: resizeSquare(rgb, cols, rows, 3, Math.min(STORE_SIZE, rows, cols)),
      size: Math.min(STORE_SIZE, rows, cols),
      channels: 3,
    };
  }
  if (spp !== 1) throw new Error(`${name}: SamplesPerPixel ${spp} is not supported`);
  const need = (n * bits) / 8;
  if (pix.length < need) {
    throw new Error(
      `${name}: PixelData has ${pix.length} bytes, ${rows}x${cols}x${bits} bit needs ${need}`,
    );
  }
  const slope = ds.floatString('x00281053') ?? 1;
  const intercept = ds.floatString('x00281052') ?? 0;
  const values = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    let v: number;
    if (bits === 8) v = signed ? view.getInt8(i) : view.getUint8(i);
    else if (bits === 16)
      v = signed ? view.getInt16(i * 2, !bigEndian) : view.getUint16(i * 2, !bigEndian);
    else throw new Error(`${name}: BitsAllocated ${bits} is not supported (8 or 16)`);
    values[i] = v * slope + intercept;
  }
  const center = ds.floatString('x00281050');
  const width = ds.floatString('x00281051');
  let gray = windowTo8bit(
    values,
    center !== undefined && width !== undefined ? { center, width } : undefined,
  );
  if (ds.string('x00280004') === 'MONOCHROME1') gray = gray.map((g) => 255 - g);
  const size = Math.min(STORE_SIZE, rows, cols);
  return { data: resizeSquare(gray, cols, rows, 1, size), size, channels: 1 };
}
