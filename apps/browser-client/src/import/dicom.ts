// DICOM (PS3.10 files, as PACS exports them) -> an 8-bit square image for the local store.
// Every transfer syntax of NATIVE_SYNTAXES / ENCAPSULATED_SYNTAXES (dicom-codecs.ts); deflated
// files are inflated with fflate. Multi-frame files (a CT/MR series in one file, cine) give
// their middle frame: one labelled sample per file, as a labels CSV names files, and the
// middle slice of a volume is its most representative one. Rescale slope/intercept, then the
// file's window (or min..max), then MONOCHROME1 inversion. Anything else gets one message
// naming the file and the reason.
import * as dicomParser from 'dicom-parser';
import { inflateSync } from 'fflate';
import { STORE_SIZE, resizeSquare, windowTo8bit } from './pixels.js';
import {
  ENCAPSULATED_SYNTAXES,
  KNOWN_UNSUPPORTED,
  NATIVE_SYNTAXES,
  type FrameDecoders,
} from './dicom-codecs.js';

export interface DecodedImage {
  data: Uint8Array;
  size: number;
  channels: 1 | 3;
}

export interface DecodedDicom extends DecodedImage {
  /** SOPInstanceUID (0008,0018), to join a labels CSV keyed by it. */
  sopInstanceUid?: string;
  /** Frames in the file, and the one decoded (the middle one). */
  frames: number;
  frame: number;
  transferSyntax: string;
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

/** dicom-parser's inflater hook: the meta header as is, the rest raw-DEFLATE inflated. */
function inflater(byteArray: Uint8Array, position: number): Uint8Array {
  const inflated = inflateSync(byteArray.subarray(position));
  const full = new Uint8Array(position + inflated.length);
  full.set(byteArray.subarray(0, position), 0);
  full.set(inflated, position);
  return full;
}

function parse(name: string, bytes: Uint8Array): dicomParser.DataSet {
  try {
    return dicomParser.parseDicom(bytes, {
      inflater,
    } as unknown as dicomParser.ParseDicomOptions);
  } catch (e) {
    const msg = e instanceof Error ? e.message : String(e);
    throw new Error(`${name}: not a readable DICOM file (${msg})`);
  }
}

function syntaxError(name: string, ts: string): Error {
  const known = KNOWN_UNSUPPORTED[ts];
  return new Error(
    `${name}: transfer syntax ${ts}${known ? ` (${known})` : ''} is not supported; supported: ${[
      ...Object.values(NATIVE_SYNTAXES),
      ...Object.values(ENCAPSULATED_SYNTAXES).map((s) => s.name),
    ].join(', ')}`,
  );
}

/** The bytes of frame `index` of an encapsulated PixelData (basic offset table or not). */
function encapsulatedFrame(
  ds: dicomParser.DataSet,
  pix: dicomParser.Element,
  index: number,
  frames: number,
): Uint8Array {
  const fragments = pix.fragments ?? [];
  if (frames === 1) {
    return dicomParser.readEncapsulatedPixelDataFromFragments(ds, pix, 0, fragments.length);
  }
  if (pix.basicOffsetTable && pix.basicOffsetTable.length === frames) {
    return dicomParser.readEncapsulatedImageFrame(ds, pix, index);
  }
  if (fragments.length === frames) {
    return dicomParser.readEncapsulatedPixelDataFromFragments(ds, pix, index, 1);
  }
  // No offset table and several fragments per frame: JPEG frames end at an EOI marker.
  const table = dicomParser.createJPEGBasicOffsetTable(ds, pix);
  return dicomParser.readEncapsulatedImageFrame(ds, pix, index, table);
}

/** Raw sample values of a grey frame (little-endian bytes unless `bigEndian`). */
function samples(
  raw: Uint8Array,
  n: number,
  bits: number,
  signed: boolean,
  bigEndian: boolean,
  name: string,
): Float32Array {
  const view = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
  const values = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    if (bits === 8) values[i] = signed ? view.getInt8(i) : view.getUint8(i);
    else if (bits === 16)
      values[i] = signed ? view.getInt16(i * 2, !bigEndian) : view.getUint16(i * 2, !bigEndian);
    else if (bits === 32)
      values[i] = signed ? view.getInt32(i * 4, !bigEndian) : view.getUint32(i * 4, !bigEndian);
    else throw new Error(`${name}: BitsAllocated ${bits} is not supported (8, 16 or 32)`);
  }
  return values;
}

/** One frame of a DICOM file before display mapping. */
export interface DicomFrame {
  rows: number;
  cols: number;
  /** Grey: modality values (stored value x RescaleSlope + RescaleIntercept), rows x cols. */
  values?: Float32Array;
  /** RGB: interleaved 8-bit pixels, rows x cols x 3. */
  rgb?: Uint8Array;
  sopInstanceUid?: string;
  /** Frames in the file, and the (0-based) one read: the middle one. */
  frames: number;
  frame: number;
  transferSyntax: string;
  window?: { center: number; width: number };
  monochrome1: boolean;
}

/**
 * Reads the middle frame of a DICOM file: parses it, decodes compressed pixel data with
 * `decoders` (uncompressed files never touch it) and applies the rescale.
 */
export async function readDicomFrame(
  name: string,
  bytes: Uint8Array,
  decoders: FrameDecoders,
): Promise<DicomFrame> {
  const ds = parse(name, bytes);
  const ts = ds.string('x00020010') ?? '1.2.840.10008.1.2';
  const encapsulated = ENCAPSULATED_SYNTAXES[ts];
  if (!(ts in NATIVE_SYNTAXES) && !encapsulated) throw syntaxError(name, ts);
  const rows = ds.uint16('x00280010');
  const cols = ds.uint16('x00280011');
  const bits = ds.uint16('x00280100');
  const spp = ds.uint16('x00280002') ?? 1;
  const signed = ds.uint16('x00280103') === 1;
  const pix = ds.elements.x7fe00010;
  if (!rows || !cols || !bits || !pix) {
    throw new Error(`${name}: DICOM without Rows, Columns, BitsAllocated or PixelData`);
  }
  if (spp !== 1 && spp !== 3) throw new Error(`${name}: SamplesPerPixel ${spp} is not supported`);
  if (spp === 3 && bits !== 8) {
    throw new Error(`${name}: RGB DICOM with ${bits} bits is not supported`);
  }
  const frames = Math.max(1, ds.intString('x00280008') ?? 1);
  const frame = Math.floor(frames / 2);
  const n = rows * cols;
  const frameBytes = (n * spp * bits) / 8;
  let raw: Uint8Array;
  if (encapsulated) {
    if (!pix.encapsulatedPixelData) {
      throw new Error(`${name}: transfer syntax ${ts} needs encapsulated PixelData`);
    }
    try {
      const enc = encapsulatedFrame(ds, pix, frame, frames);
      raw = await decoders.decode(encapsulated.codec, enc, {
        rows,
        cols,
        samplesPerPixel: spp,
        bitsAllocated: bits,
      });
    } catch (e) {
      const msg = e instanceof Error ? e.message : String(e);
      throw new Error(`${name}: ${encapsulated.name} frame ${frame + 1}/${frames}: ${msg}`);
    }
  } else {
    if (!Number.isInteger(frameBytes)) {
      throw new Error(`${name}: BitsAllocated ${bits} is not supported (8, 16 or 32)`);
    }
    if (pix.length < frameBytes * frames) {
      throw new Error(
        `${name}: PixelData has ${pix.length} bytes, ${frames} frame(s) of ${rows}x${cols}x${spp}x${bits} bit need ${frameBytes * frames}`,
      );
    }
    raw = ds.byteArray.subarray(
      pix.dataOffset + frame * frameBytes,
      pix.dataOffset + (frame + 1) * frameBytes,
    );
  }
  const center = ds.floatString('x00281050');
  const width = ds.floatString('x00281051');
  const out: DicomFrame = {
    rows,
    cols,
    sopInstanceUid: ds.string('x00080018')?.trim() || undefined,
    frames,
    frame,
    transferSyntax: ts,
    window: center !== undefined && width !== undefined ? { center, width } : undefined,
    monochrome1: ds.string('x00280004') === 'MONOCHROME1',
  };
  if (spp === 3) {
    // Codecs return interleaved pixels (RLE is re-interleaved by its decoder; libjpeg-turbo
    // converts JPEG YBR to RGB); native data follows PlanarConfiguration.
    const planar = !encapsulated && ds.uint16('x00280006') === 1;
    const rgb = new Uint8Array(n * 3);
    for (let i = 0; i < n; i++) {
      for (let c = 0; c < 3; c++) rgb[i * 3 + c] = raw[planar ? c * n + i : i * 3 + c];
    }
    return { ...out, rgb };
  }
  // Decoded frames are little-endian; only native big-endian files are not.
  const bigEndian = !encapsulated && ts === '1.2.840.10008.1.2.2';
  const values = samples(raw, n, bits, signed, bigEndian, name);
  const slope = ds.floatString('x00281053') ?? 1;
  const intercept = ds.floatString('x00281052') ?? 0;
  for (let i = 0; i < n; i++) values[i] = values[i] * slope + intercept;
  return { ...out, values };
}

/**
 * Decodes one DICOM file to its stored form: the middle frame, windowed to 8 bits (the file's
 * window, else min..max), MONOCHROME1 inverted, resized to at most STORE_SIZE.
 */
export async function decodeDicom(
  name: string,
  bytes: Uint8Array,
  decoders: FrameDecoders,
): Promise<DecodedDicom> {
  const f = await readDicomFrame(name, bytes, decoders);
  const size = Math.min(STORE_SIZE, f.rows, f.cols);
  const meta = {
    sopInstanceUid: f.sopInstanceUid,
    frames: f.frames,
    frame: f.frame,
    transferSyntax: f.transferSyntax,
    size,
  };
  if (f.rgb) return { ...meta, data: resizeSquare(f.rgb, f.cols, f.rows, 3, size), channels: 3 };
  let gray = windowTo8bit(f.values as Float32Array, f.window);
  if (f.monochrome1) gray = gray.map((g) => 255 - g);
  return { ...meta, data: resizeSquare(gray, f.cols, f.rows, 1, size), channels: 1 };
}
