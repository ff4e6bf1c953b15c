// safetensors (huggingface/safetensors format spec): u64 little-endian header length N, N bytes
// of UTF-8 JSON {name: {dtype, shape, data_offsets: [begin, end]}, __metadata__?: {str: str}},
// then the raw little-endian tensor bytes (offsets relative to the end of the header).
// Own reader/writer (no maintained browser-safe safetensors package fits): F32, F16, BF16, I8, U8, I32, I64 read;
// F32/F16/I8/U8/I32 written.

export type SafeDtype = 'F32' | 'F16' | 'BF16' | 'I8' | 'U8' | 'I32' | 'I64';

export interface SafeTensor {
  dtype: SafeDtype;
  shape: number[];
  /** Raw values: Float32Array for F32/F16/BF16 (decoded), Int8Array, Uint8Array, Int32Array, or BigInt64Array. */
  data: Float32Array | Int8Array | Uint8Array | Int32Array | BigInt64Array;
}

export interface SafeFile {
  tensors: Record<string, SafeTensor>;
  metadata: Record<string, string>;
}

const BYTES: Record<SafeDtype, number> = { F32: 4, F16: 2, BF16: 2, I8: 1, U8: 1, I32: 4, I64: 8 };

// IEEE 754 half precision <-> single precision, with rounding to nearest even.
const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);
export function f32ToF16(v: number): number {
  f32[0] = v;
  const x = u32[0];
  const sign = (x >>> 16) & 0x8000;
  const exp = (x >>> 23) & 0xff;
  let mant = x & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (mant ? 0x200 : 0);
  const e = exp - 127 + 15;
  if (e >= 0x1f) return sign | 0x7c00;
  if (e <= 0) {
    if (e < -10) return sign;
    mant |= 0x800000;
    const shift = 14 - e;
    let h = mant >>> shift;
    const rem = mant & ((1 << shift) - 1);
    const half = 1 << (shift - 1);
    if (rem > half || (rem === half && h & 1)) h += 1;
    return sign | h;
  }
  // A carry out of the mantissa correctly bumps the exponent (up to Inf).
  let h = (e << 10) | (mant >>> 13);
  const rem = mant & 0x1fff;
  if (rem > 0x1000 || (rem === 0x1000 && h & 1)) h += 1;
  return sign | h;
}

export function f16ToF32(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >>> 10) & 0x1f;
  const mant = h & 0x3ff;
  if (exp === 0) return sign * mant * 2 ** -24;
  if (exp === 0x1f) return mant ? NaN : sign * Infinity;
  return sign * (1 + mant / 1024) * 2 ** (exp - 15);
}

function numel(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

function fail(msg: string): never {
  throw new Error(`safetensors: ${msg}`);
}

export function readSafetensors(bytes: Uint8Array): SafeFile {
  if (!(bytes instanceof Uint8Array)) fail('input must be a Uint8Array');
  if (bytes.length < 8)
    fail(`file is ${bytes.length} bytes, shorter than the 8-byte header length (truncated?)`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const hlen = view.getBigUint64(0, true);
  if (hlen > BigInt(bytes.length - 8))
    fail(
      `header length ${hlen} exceeds the ${bytes.length - 8} bytes after it (truncated or not a safetensors file)`,
    );
  const n = Number(hlen);
  let header: Record<string, unknown>;
  try {
    header = JSON.parse(
      new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(8, 8 + n)),
    ) as Record<string, unknown>;
  } catch (e) {
    fail(`header is not valid UTF-8 JSON (${(e as Error).message})`);
  }
  if (typeof header !== 'object' || header === null || Array.isArray(header))
    fail('header must be a JSON object');
  const dataStart = 8 + n;
  const dataLen = bytes.length - dataStart;
  const metadata: Record<string, string> = {};
  const tensors: Record<string, SafeTensor> = {};
  const ranges: [number, number, string][] = [];
  for (const [name, entry] of Object.entries(header)) {
    if (name === '__metadata__') {
      if (typeof entry !== 'object' || entry === null)
        fail('__metadata__ must be an object of strings');
      for (const [k, v] of Object.entries(entry as Record<string, unknown>)) {
        if (typeof v !== 'string') fail(`__metadata__.${k} must be a string`);
        metadata[k] = v;
      }
      continue;
    }
    const e = entry as { dtype?: unknown; shape?: unknown; data_offsets?: unknown };
    if (typeof e !== 'object' || e === null) fail(`tensor "${name}": entry must be an object`);
    const dtype = e.dtype as SafeDtype;
    if (typeof dtype !== 'string' || !(dtype in BYTES))
      fail(
        `tensor "${name}": unsupported dtype ${JSON.stringify(e.dtype)} (supported: ${Object.keys(BYTES).join(', ')})`,
      );
    const shape = e.shape;
    if (!Array.isArray(shape) || !shape.every((d) => Number.isInteger(d) && d >= 0))
      fail(`tensor "${name}": shape must be a list of non-negative integers`);
    const off = e.data_offsets;
    if (
      !Array.isArray(off) ||
      off.length !== 2 ||
      !off.every((d) => Number.isInteger(d) && d >= 0) ||
      off[1] < off[0]
    ) {
      fail(`tensor "${name}": data_offsets must be [begin, end] with 0 <= begin <= end`);
    }
    const [b, en] = off as [number, number];
    const want = numel(shape as number[]) * BYTES[dtype];
    if (en - b !== want)
      fail(
        `tensor "${name}": ${dtype} [${String(shape)}] needs ${want} bytes, data_offsets span ${en - b}`,
      );
    if (en > dataLen)
      fail(
        `tensor "${name}": data ends at byte ${en} but only ${dataLen} data bytes follow the header (truncated?)`,
      );
    ranges.push([b, en, name]);
    const raw = bytes.slice(dataStart + b, dataStart + en); // copy: aligned, independent buffer
    const dv = new DataView(raw.buffer);
    const count = numel(shape as number[]);
    let data: SafeTensor['data'];
    switch (dtype) {
      case 'F32': {
        const a = new Float32Array(count);
        for (let i = 0; i < count; i++) a[i] = dv.getFloat32(i * 4, true);
        data = a;
        break;
      }
      case 'F16': {
        const a = new Float32Array(count);
        for (let i = 0; i < count; i++) a[i] = f16ToF32(dv.getUint16(i * 2, true));
        data = a;
        break;
      }
      case 'BF16': {
        const a = new Float32Array(count);
        const w = new Uint32Array(a.buffer);
        for (let i = 0; i < count; i++) w[i] = dv.getUint16(i * 2, true) << 16;
        data = a;
        break;
      }
      case 'I8':
        data = new Int8Array(raw.buffer);
        break;
      case 'U8':
        data = raw;
        break;
      case 'I32': {
        const a = new Int32Array(count);
        for (let i = 0; i < count; i++) a[i] = dv.getInt32(i * 4, true);
        data = a;
        break;
      }
      case 'I64': {
        const a = new BigInt64Array(count);
        for (let i = 0; i < count; i++) a[i] = dv.getBigInt64(i * 8, true);
        data = a;
        break;
      }
    }
    tensors[name] = { dtype, shape: [...(shape as number[])], data };
  }
  ranges.sort((a, b) => a[0] - b[0]);
  for (let i = 1; i < ranges.length; i++) {
    if (ranges[i][0] < ranges[i - 1][1])
      fail(`tensors "${ranges[i - 1][2]}" and "${ranges[i][2]}" overlap`);
  }
  return { tensors, metadata };
}

export interface WriteTensor {
  dtype: 'F32' | 'F16' | 'I8' | 'U8' | 'I32';
  shape: number[];
  data: ArrayLike<number>;
}

export function writeSafetensors(
  tensors: Record<string, WriteTensor>,
  metadata: Record<string, string> = {},
): Uint8Array {
  const header: Record<string, unknown> = {};
  if (Object.keys(metadata).length) header.__metadata__ = metadata;
  let offset = 0;
  const names = Object.keys(tensors);
  for (const name of names) {
    if (name === '__metadata__') fail('"__metadata__" is not a valid tensor name');
    const t = tensors[name];
    if (!(t.dtype in BYTES)) fail(`tensor "${name}": cannot write dtype ${t.dtype}`);
    const count = numel(t.shape);
    if (t.data.length !== count)
      fail(`tensor "${name}": shape [${t.shape}] has ${count} values, data has ${t.data.length}`);
    const size = count * BYTES[t.dtype];
    header[name] = { dtype: t.dtype, shape: t.shape, data_offsets: [offset, offset + size] };
    offset += size;
  }
  let json = JSON.stringify(header);
  // Pad with spaces so the data starts 8-byte aligned (as the reference implementation does).
  const enc = new TextEncoder();
  let hb = enc.encode(json);
  const pad = (8 - ((8 + hb.length) % 8)) % 8;
  if (pad) {
    json += ' '.repeat(pad);
    hb = enc.encode(json);
  }
  const out = new Uint8Array(8 + hb.length + offset);
  const dv = new DataView(out.buffer);
  dv.setBigUint64(0, BigInt(hb.length), true);
  out.set(hb, 8);
  let p = 8 + hb.length;
  for (const name of names) {
    const t = tensors[name];
    const n = t.data.length;
    switch (t.dtype) {
      case 'F32':
        for (let i = 0; i < n; i++, p += 4) dv.setFloat32(p, t.data[i], true);
        break;
      case 'F16':
        for (let i = 0; i < n; i++, p += 2) dv.setUint16(p, f32ToF16(t.data[i]), true);
        break;
      case 'I8':
        for (let i = 0; i < n; i++, p += 1) dv.setInt8(p, t.data[i]);
        break;
      case 'U8':
        for (let i = 0; i < n; i++, p += 1) dv.setUint8(p, t.data[i]);
        break;
      case 'I32':
        for (let i = 0; i < n; i++, p += 4) dv.setInt32(p, t.data[i], true);
        break;
    }
  }
  return out;
}
