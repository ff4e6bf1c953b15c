// Small import fixtures made in the test (no downloaded data): a MedMNIST-layout npz from the
// synthetic generator, a PNG (hand-rolled encoder on node:zlib), and an uncompressed DICOM
// (explicit VR little endian, written element by element per PS3.5/PS3.10).
import { deflateSync } from 'node:zlib';
import { syntheticSubsetArrays, writeMedMnistNpz, type SubsetName } from '@focus-fl/core/data';

export function medmnistNpz(subset: SubsetName, perSplit: number, seed = 1): Uint8Array {
  const mk = (s: number) => syntheticSubsetArrays(subset, { seed: seed + s, count: perSplit });
  return writeMedMnistNpz({ train: mk(0), val: mk(1), test: mk(2) });
}

const CRC_TABLE = Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});

function crc32(b: Uint8Array): number {
  let c = 0xffffffff;
  for (const x of b) c = CRC_TABLE[(c ^ x) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

function chunk(type: string, data: Uint8Array): Buffer {
  const len = Buffer.alloc(4);
  len.writeUInt32BE(data.length);
  const td = Buffer.concat([Buffer.from(type, 'ascii'), Buffer.from(data)]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(td));
  return Buffer.concat([len, td, crc]);
}

/** 8-bit greyscale PNG of `pixels` (w*h bytes). */
export function grayPng(w: number, h: number, pixels: Uint8Array): Buffer {
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(w, 0);
  ihdr.writeUInt32BE(h, 4);
  ihdr[8] = 8; // bit depth
  ihdr[9] = 0; // greyscale
  const raw = Buffer.alloc((w + 1) * h);
  for (let y = 0; y < h; y++)
    Buffer.from(pixels.subarray(y * w, (y + 1) * w)).copy(raw, y * (w + 1) + 1);
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', ihdr),
    chunk('IDAT', deflateSync(raw)),
    chunk('IEND', new Uint8Array()),
  ]);
}

function el(group: number, elem: number, vr: string, value: Buffer): Buffer {
  const long = ['OB', 'OW', 'SQ', 'UN', 'UT'].includes(vr);
  const head = Buffer.alloc(long ? 12 : 8);
  head.writeUInt16LE(group, 0);
  head.writeUInt16LE(elem, 2);
  head.write(vr, 4, 'ascii');
  if (long) head.writeUInt32LE(value.length, 8);
  else head.writeUInt16LE(value.length, 6);
  return Buffer.concat([head, value]);
}

const us = (v: number): Buffer => {
  const b = Buffer.alloc(2);
  b.writeUInt16LE(v);
  return b;
};
const str = (s: string, pad = ' '): Buffer => Buffer.from(s.length % 2 ? s + pad : s, 'ascii');

/** 16-bit MONOCHROME2 DICOM, explicit VR little endian, of `values` (rows*cols). */
export function dicom16(rows: number, cols: number, values: Uint16Array): Buffer {
  const meta = Buffer.concat([
    el(0x0002, 0x0001, 'OB', Buffer.from([0, 1])),
    el(0x0002, 0x0010, 'UI', str('1.2.840.10008.1.2.1', '\0')),
  ]);
  const groupLen = Buffer.alloc(4);
  groupLen.writeUInt32LE(meta.length);
  const pixels = Buffer.from(values.buffer, values.byteOffset, values.byteLength);
  return Buffer.concat([
    Buffer.alloc(128),
    Buffer.from('DICM', 'ascii'),
    el(0x0002, 0x0000, 'UL', groupLen),
    meta,
    el(0x0028, 0x0002, 'US', us(1)),
    el(0x0028, 0x0004, 'CS', str('MONOCHROME2')),
    el(0x0028, 0x0010, 'US', us(rows)),
    el(0x0028, 0x0011, 'US', us(cols)),
    el(0x0028, 0x0100, 'US', us(16)),
    el(0x0028, 0x0101, 'US', us(12)),
    el(0x0028, 0x0102, 'US', us(11)),
    el(0x0028, 0x0103, 'US', us(0)),
    el(0x7fe0, 0x0010, 'OW', pixels),
  ]);
}
