// Pixel helpers shared by the importers. Pure (no DOM), unit-tested in Node.

/** Side of the square images kept in IndexedDB; the model resizes to its own input size. */
export const STORE_SIZE = 64;

/**
 * Bilinear resample of a row-major HWC uint8 image (any w x h) to a square `size` x `size`
 * (aspect ratio is not kept: MedMNIST and most VQA images are square or near it).
 */
export function resizeSquare(
  src: ArrayLike<number>,
  w: number,
  h: number,
  channels: number,
  size: number,
): Uint8Array {
  const out = new Uint8Array(size * size * channels);
  for (let y = 0; y < size; y++) {
    const fy = Math.max(0, ((y + 0.5) * h) / size - 0.5);
    const y0 = Math.min(h - 1, Math.floor(fy));
    const y1 = Math.min(h - 1, y0 + 1);
    const dy = fy - y0;
    for (let x = 0; x < size; x++) {
      const fx = Math.max(0, ((x + 0.5) * w) / size - 0.5);
      const x0 = Math.min(w - 1, Math.floor(fx));
      const x1 = Math.min(w - 1, x0 + 1);
      const dx = fx - x0;
      for (let c = 0; c < channels; c++) {
        const a = src[(y0 * w + x0) * channels + c];
        const b = src[(y0 * w + x1) * channels + c];
        const d = src[(y1 * w + x0) * channels + c];
        const e = src[(y1 * w + x1) * channels + c];
        const v = (a * (1 - dx) + b * dx) * (1 - dy) + (d * (1 - dx) + e * dx) * dy;
        out[(y * size + x) * channels + c] = Math.round(v);
      }
    }
  }
  return out;
}

/** RGBA (canvas ImageData) -> gray (1 channel) when R = G = B everywhere, else RGB. */
export function fromRgba(
  rgba: ArrayLike<number>,
  n: number,
): { data: Uint8Array; channels: 1 | 3 } {
  let gray = true;
  for (let i = 0; i < n && gray; i++) {
    const r = rgba[i * 4];
    if (rgba[i * 4 + 1] !== r || rgba[i * 4 + 2] !== r) gray = false;
  }
  if (gray) {
    const g = new Uint8Array(n);
    for (let i = 0; i < n; i++) g[i] = rgba[i * 4];
    return { data: g, channels: 1 };
  }
  const rgb = new Uint8Array(n * 3);
  for (let i = 0; i < n; i++) {
    rgb[i * 3] = rgba[i * 4];
    rgb[i * 3 + 1] = rgba[i * 4 + 1];
    rgb[i * 3 + 2] = rgba[i * 4 + 2];
  }
  return { data: rgb, channels: 3 };
}

/**
 * Maps raw (e.g. 12/16-bit) grey values to 0..255 with a window (DICOM WindowCenter/Width,
 * PS3.3 C.11.2.1.2 linear function) or, without one, the min..max range.
 */
export function windowTo8bit(
  values: ArrayLike<number>,
  window?: { center: number; width: number },
): Uint8Array {
  const out = new Uint8Array(values.length);
  let lo: number;
  let hi: number;
  if (window && window.width > 1) {
    lo = window.center - 0.5 - (window.width - 1) / 2;
    hi = window.center - 0.5 + (window.width - 1) / 2;
  } else {
    lo = Infinity;
    hi = -Infinity;
    for (let i = 0; i < values.length; i++) {
      if (values[i] < lo) lo = values[i];
      if (values[i] > hi) hi = values[i];
    }
  }
  const span = hi - lo || 1;
  for (let i = 0; i < values.length; i++) {
    const t = (values[i] - lo) / span;
    out[i] = Math.round(255 * Math.min(1, Math.max(0, t)));
  }
  return out;
}

/** Gray or RGB pixels -> RGBA for a thumbnail canvas. */
export function toRgba(data: Uint8Array, size: number, channels: 1 | 3): Uint8ClampedArray {
  const n = size * size;
  const out = new Uint8ClampedArray(n * 4);
  for (let i = 0; i < n; i++) {
    out[i * 4] = data[i * channels];
    out[i * 4 + 1] = data[i * channels + (channels === 3 ? 1 : 0)];
    out[i * 4 + 2] = data[i * channels + (channels === 3 ? 2 : 0)];
    out[i * 4 + 3] = 255;
  }
  return out;
}
