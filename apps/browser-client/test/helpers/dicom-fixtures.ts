// DICOM files the tests write themselves: an image built here, stored uncompressed, then
// transcoded by dcmjs-codecs (dcmtk / CharLS / OpenJPEG encoders compiled to wasm, a build
// independent of the cornerstone decoders the importer uses) to each transfer syntax.
import { createRequire } from 'node:module';
import { deflateSync } from 'fflate';
import dcmjsCodecs from 'dcmjs-codecs';

const require = createRequire(import.meta.url);
const { NativeCodecs, Transcoder } = dcmjsCodecs;

let ready: Promise<void> | null = null;
export function initEncoders(): Promise<void> {
  ready ??= NativeCodecs.initializeAsync({
    webAssemblyModulePathOrUrl: require.resolve('dcmjs-codecs/build/dcmjs-native-codecs.wasm'),
  });
  return ready;
}

export interface FixtureImage {
  rows: number;
  cols: number;
  bits: 8 | 16;
  /** Grey stored values, rows x cols x frames (or RGB interleaved when samplesPerPixel 3). */
  pixels: Uint8Array | Uint16Array | Int16Array;
  frames?: number;
  samplesPerPixel?: 1 | 3;
  signed?: boolean;
  bitsStored?: number;
  photometric?: string;
  extra?: Record<string, unknown>;
}

export const UIDS = {
  explicitLE: '1.2.840.10008.1.2.1',
  implicitLE: '1.2.840.10008.1.2',
  explicitBE: '1.2.840.10008.1.2.2',
  deflated: '1.2.840.10008.1.2.1.99',
  rle: '1.2.840.10008.1.2.5',
  jpegBaseline: '1.2.840.10008.1.2.4.50',
  jpegLossless: '1.2.840.10008.1.2.4.70',
  jpegLsLossless: '1.2.840.10008.1.2.4.80',
  jpegLsNear: '1.2.840.10008.1.2.4.81',
  j2kLossless: '1.2.840.10008.1.2.4.90',
  j2kLossy: '1.2.840.10008.1.2.4.91',
} as const;

function elements(img: FixtureImage, sopUid: string): Record<string, unknown> {
  const spp = img.samplesPerPixel ?? 1;
  const buf = img.pixels.buffer.slice(
    img.pixels.byteOffset,
    img.pixels.byteOffset + img.pixels.byteLength,
  );
  return {
    SOPClassUID: '1.2.840.10008.5.1.4.1.1.7',
    SOPInstanceUID: sopUid,
    Modality: 'OT',
    Rows: img.rows,
    Columns: img.cols,
    BitsAllocated: img.bits,
    BitsStored: img.bitsStored ?? img.bits,
    HighBit: (img.bitsStored ?? img.bits) - 1,
    PixelRepresentation: img.signed ? 1 : 0,
    SamplesPerPixel: spp,
    PhotometricInterpretation: img.photometric ?? (spp === 3 ? 'RGB' : 'MONOCHROME2'),
    ...(spp === 3 ? { PlanarConfiguration: 0 } : {}),
    ...(img.frames && img.frames > 1 ? { NumberOfFrames: img.frames } : {}),
    ...img.extra,
    PixelData: [buf],
    _vrMap: { PixelData: img.bits === 8 ? 'OB' : 'OW' },
  };
}

/** A Part 10 file in transfer syntax `ts` (dcmjs-codecs transcodes from explicit VR LE). */
export async function dicomFile(
  img: FixtureImage,
  ts: string,
  opts: { sopUid?: string; params?: Record<string, unknown> } = {},
): Promise<Uint8Array> {
  await initEncoders();
  const sop = opts.sopUid ?? '1.2.826.0.1.3680043.8.498.1';
  if (ts === UIDS.deflated) return deflated(await dicomFile(img, UIDS.explicitLE, opts));
  const t = new Transcoder(elements(img, sop), UIDS.explicitLE);
  if (ts !== UIDS.explicitLE) t.transcode(ts, opts.params);
  return new Uint8Array(t.getDicomPart10());
}

/**
 * Deflated explicit VR LE (PS3.5 A.5): the same file with everything after the meta group
 * raw-DEFLATE compressed and the meta header's syntax changed.
 */
function deflated(file: Uint8Array): Uint8Array {
  const view = new DataView(file.buffer, file.byteOffset, file.byteLength);
  const groupLen = view.getUint32(128 + 4 + 8, true); // (0002,0000) UL value
  const metaEnd = 128 + 4 + 12 + groupLen;
  const meta = new TextDecoder('latin1').decode(file.subarray(0, metaEnd));
  const from = `${UIDS.explicitLE}\0`;
  const at = meta.indexOf(from);
  if (at < 0) throw new Error('fixture: no transfer syntax UID in the meta header');
  // The new UID is 22 chars (even): the element grows by 2 bytes, and so does the group.
  const to = new TextEncoder().encode(UIDS.deflated);
  const head = new Uint8Array(metaEnd + 2);
  head.set(file.subarray(0, at - 2));
  new DataView(head.buffer).setUint16(at - 2, to.length, true);
  head.set(to, at);
  head.set(file.subarray(at + from.length, metaEnd), at + to.length);
  new DataView(head.buffer).setUint32(128 + 4 + 8, groupLen + 2, true);
  const body = deflateSync(file.subarray(metaEnd), { level: 6 });
  const out = new Uint8Array(head.length + body.length);
  out.set(head);
  out.set(body, head.length);
  return out;
}
