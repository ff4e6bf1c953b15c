// Where a frozen int8 weight lives between uses (model/README.md, "int8 in memory"). tfjs has no
// int8 dtype, so either
// - `host`: an Int8Array + fp32 scales in JS memory (1 byte per value); each use dequantizes it
//   in JS into a new tensor (an upload). Best for cpu and wasm, whose tensors are host memory.
// - `device`: on the backend (GPU memory on WebGPU), three int8 values packed per
//   float32 as the integer p = u0 + 256 u1 + 65536 u2 (u = q + 128, so 0 <= p < 2^24, exact in
//   float32; 4/3 bytes per value). A product x @ W on webgpu reads it in the fused int8
//   dequantize-matmul kernel (./int8-matmul.ts), with no fp32 copy of W; other uses unpack and
//   scale it with plain tfjs ops, on the device, with no upload. The unpacking is exact (multiplications by powers of two, floor,
//   subtraction of integers below 2^24), and (u - 128) * scale is rounded once in float32
//   as in the host path, so both give bitwise the same weights.
import * as tf from '@tensorflow/tfjs';
import type { PackedInt8 } from './int8-matmul.js';
import { dequantizeInt8, gatherRowsInt8, type QuantizedInt8 } from './quantize.js';

export type Int8Storage = 'host' | 'device';

export interface Int8Weight {
  readonly storage: Int8Storage;
  readonly shape: [number, number];
  readonly axis: 0 | 1;
  /** Bytes it occupies (values + scales). */
  readonly bytes: number;
  /** A new fp32 tensor of the dequantized weight; the caller's scope owns it. */
  dequantize(): tf.Tensor2D;
  /** Dequantized rows `ids` (axis-0 tables), or undefined when this storage cannot do it cheaply. */
  gatherRows(ids: ArrayLike<number>): Float32Array | undefined;
  /** The int8 values and scales (read back from the device for `device`). */
  toQuantized(): QuantizedInt8;
  /** The packed device tensors (`device` storage; ./int8-matmul.ts reads them), else undefined. */
  packedDevice(): PackedInt8 | undefined;
  dispose(): void;
}

class HostInt8 implements Int8Weight {
  readonly storage = 'host';
  constructor(private readonly q: QuantizedInt8) {}
  get shape(): [number, number] {
    return this.q.shape;
  }
  get axis(): 0 | 1 {
    return this.q.axis;
  }
  get bytes(): number {
    return this.q.q.byteLength + this.q.scales.byteLength;
  }
  dequantize(): tf.Tensor2D {
    return tf.tensor2d(dequantizeInt8(this.q), this.q.shape);
  }
  gatherRows(ids: ArrayLike<number>): Float32Array | undefined {
    return this.q.axis === 0 ? gatherRowsInt8(this.q, ids) : undefined;
  }
  toQuantized(): QuantizedInt8 {
    return this.q;
  }
  packedDevice(): undefined {
    return undefined;
  }
  dispose(): void {}
}

/** Packs int8 values three per float32 (see the file comment); the tail is padded with q = -128. */
export function packInt8x3(q: Int8Array): Float32Array {
  const out = new Float32Array(Math.ceil(q.length / 3));
  for (let i = 0, k = 0; i < q.length; i += 3, k++) {
    const u0 = q[i] + 128;
    const u1 = i + 1 < q.length ? q[i + 1] + 128 : 0;
    const u2 = i + 2 < q.length ? q[i + 2] + 128 : 0;
    out[k] = u0 + 256 * u1 + 65536 * u2;
  }
  return out;
}

export function unpackInt8x3(packed: ArrayLike<number>, n: number): Int8Array {
  const out = new Int8Array(n);
  for (let i = 0; i < n; i++) {
    const p = packed[Math.floor(i / 3)];
    const u = Math.floor(p / 256 ** (i % 3)) % 256;
    out[i] = u - 128;
  }
  return out;
}

class DeviceInt8 implements Int8Weight {
  readonly storage = 'device';
  readonly shape: [number, number];
  readonly axis: 0 | 1;
  private readonly packed: tf.Tensor1D;
  private readonly scales: tf.Tensor2D;
  constructor(q: QuantizedInt8) {
    this.shape = [...q.shape];
    this.axis = q.axis;
    this.packed = tf.tensor1d(packInt8x3(q.q));
    this.scales =
      q.axis === 1
        ? tf.tensor2d(q.scales, [1, q.shape[1]])
        : tf.tensor2d(q.scales, [q.shape[0], 1]);
  }
  get bytes(): number {
    return 4 * (this.packed.size + this.scales.size);
  }
  dequantize(): tf.Tensor2D {
    const [R, C] = this.shape;
    return tf.tidy(() => {
      const p = this.packed;
      const u2 = tf.floor(tf.mul(p, 1 / 65536));
      const r = tf.sub(p, tf.mul(u2, 65536));
      const u1 = tf.floor(tf.mul(r, 1 / 256));
      const u0 = tf.sub(r, tf.mul(u1, 256));
      const u = tf
        .stack([u0, u1, u2], 1)
        .reshape([-1])
        .slice(0, R * C);
      return tf.mul(tf.sub(u, 128).reshape([R, C]), this.scales) as tf.Tensor2D;
    });
  }
  gatherRows(): undefined {
    return undefined;
  }
  packedDevice(): PackedInt8 {
    return { packed: this.packed, scales: this.scales, shape: this.shape };
  }
  toQuantized(): QuantizedInt8 {
    const [R, C] = this.shape;
    return {
      shape: [R, C],
      axis: this.axis,
      q: unpackInt8x3(this.packed.dataSync(), R * C),
      scales: new Float32Array(this.scales.dataSync()),
    };
  }
  dispose(): void {
    tf.dispose([this.packed, this.scales]);
  }
}

/**
 * `auto`: `device` for Linear kernels (axis 1) on webgpu, where a host copy would be uploaded on
 * every use; `host` otherwise, and always for embedding tables (axis 0), which are gathered row
 * by row on the host (only the batch's tokens). Not webgl: where it lacks float32 render
 * targets tfjs falls back to float16 textures, which cannot hold the packed 24-bit integers.
 */
export function int8Weight(q: QuantizedInt8, storage: Int8Storage | 'auto' = 'auto'): Int8Weight {
  if (storage !== 'auto' && storage !== 'host' && storage !== 'device')
    throw new Error(`int8 storage must be 'auto', 'host' or 'device', got ${String(storage)}`);
  const gpu = tf.getBackend() === 'webgpu';
  const s = storage === 'auto' ? (gpu && q.axis === 1 ? 'device' : 'host') : storage;
  return s === 'device' && q.axis === 1 ? new DeviceInt8(q) : new HostInt8(q);
}
