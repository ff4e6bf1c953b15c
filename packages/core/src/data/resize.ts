// Area-average resampling of square uint8 images (MedMNIST+ 64/128/224 px -> the model's input
// side on import). Downsampling by averaging every source pixel an output pixel covers avoids
// the aliasing a bilinear tap would give at 224 -> 28; an integer factor reduces to the exact
// k x k block mean. Upsampling (rare: 28 px files into a larger model) repeats pixels.

import type { MedMnistArrays } from './types.js';

/** Weights of the source pixels each output pixel of a 1-D resample covers (area overlap). */
function areaWeights(from: number, to: number): { start: number; weights: number[] }[] {
  const scale = from / to;
  const out: { start: number; weights: number[] }[] = [];
  for (let o = 0; o < to; o++) {
    const lo = o * scale;
    const hi = (o + 1) * scale;
    const start = Math.floor(lo);
    const weights: number[] = [];
    for (let s = start; s < Math.min(from, Math.ceil(hi)); s++) {
      weights.push((Math.min(hi, s + 1) - Math.max(lo, s)) / scale);
    }
    out.push({ start, weights });
  }
  return out;
}

/**
 * Resamples one row-major HWC image of side `from` to side `to` (separable area average,
 * rounded to the nearest integer). Same side: a copy.
 */
export function resizeAreaSquare(
  src: Uint8Array,
  from: number,
  to: number,
  channels: number,
): Uint8Array {
  if (src.length !== from * from * channels) {
    throw new Error(`resize: ${src.length} bytes is not ${from}x${from}x${channels}`);
  }
  if (from === to) return src.slice();
  const w = areaWeights(from, to);
  // Rows first (from x to x C floats), then columns.
  const tmp = new Float32Array(from * to * channels);
  for (let y = 0; y < from; y++) {
    for (let x = 0; x < to; x++) {
      const { start, weights } = w[x];
      for (let c = 0; c < channels; c++) {
        let v = 0;
        for (let k = 0; k < weights.length; k++)
          v += weights[k] * src[(y * from + start + k) * channels + c];
        tmp[(y * to + x) * channels + c] = v;
      }
    }
  }
  const out = new Uint8Array(to * to * channels);
  for (let y = 0; y < to; y++) {
    const { start, weights } = w[y];
    for (let x = 0; x < to; x++) {
      for (let c = 0; c < channels; c++) {
        let v = 0;
        for (let k = 0; k < weights.length; k++)
          v += weights[k] * tmp[((start + k) * to + x) * channels + c];
        out[(y * to + x) * channels + c] = Math.min(255, Math.max(0, Math.round(v)));
      }
    }
  }
  return out;
}

/** Every image of a MedMNIST-format split resampled to `size` px (labels untouched). */
export function resizeArrays(a: MedMnistArrays, size: number): MedMnistArrays {
  if (!Number.isInteger(size) || size < 1) {
    throw new Error(`resize: size must be a positive integer, got ${size}`);
  }
  if (a.size === size) return a;
  const P = a.size * a.size * a.channels;
  const Q = size * size * a.channels;
  const images = new Uint8Array(a.count * Q);
  for (let i = 0; i < a.count; i++) {
    images.set(
      resizeAreaSquare(a.images.subarray(i * P, (i + 1) * P), a.size, size, a.channels),
      i * Q,
    );
  }
  return { ...a, images, size };
}
