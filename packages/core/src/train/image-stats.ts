// Generic low-level statistics of an image, the regression target of pretraining's
// "describe" objective (pretrain.ts): per cell of a 4 x 4 grid, the mean of each colour
// channel, the standard deviation of the luminance, and the mean absolute horizontal and
// vertical luminance differences (local contrast and edge orientation). They name no data set
// and no class: they are what any image has (brightness layout, colour, texture, edges), so
// a base whose pooled features must keep them keeps what tells one kind of image from another.
import type { SampleLike } from '../model/batch.js';

/** Grid cells per side. */
export const STATS_GRID = 4;
/** Values per cell: mean R, G, B, luminance deviation, mean |dx|, mean |dy|. */
export const STATS_PER_CELL = 6;
export const IMAGE_STATS_DIM = STATS_GRID * STATS_GRID * STATS_PER_CELL;

/** The statistics of one sample's image (values in [0, 1]; grey images read as R = G = B). */
export function imageStatistics(s: SampleLike): Float32Array {
  const n = s.size;
  const ch = s.channels;
  if (s.image.length !== n * n * ch)
    throw new Error(`imageStatistics: expected ${n}x${n}x${ch} bytes, got ${s.image.length}`);
  if (n % STATS_GRID !== 0)
    throw new Error(`imageStatistics: image side ${n} is not a multiple of ${STATS_GRID}`);
  const px = (x: number, y: number, c: number) =>
    s.image[(y * n + x) * ch + (ch === 1 ? 0 : c)] / 255;
  const lum = (x: number, y: number) => (px(x, y, 0) + px(x, y, 1) + px(x, y, 2)) / 3;
  const cell = n / STATS_GRID;
  const out = new Float32Array(IMAGE_STATS_DIM);
  let o = 0;
  for (let gy = 0; gy < STATS_GRID; gy++) {
    for (let gx = 0; gx < STATS_GRID; gx++) {
      const mean = [0, 0, 0];
      let l1 = 0;
      let l2 = 0;
      let dx = 0;
      let dy = 0;
      for (let y = gy * cell; y < (gy + 1) * cell; y++) {
        for (let x = gx * cell; x < (gx + 1) * cell; x++) {
          for (let c = 0; c < 3; c++) mean[c] += px(x, y, c);
          const l = lum(x, y);
          l1 += l;
          l2 += l * l;
          // Differences to the right / lower neighbour, clamped at the image border.
          dx += Math.abs(lum(Math.min(x + 1, n - 1), y) - l);
          dy += Math.abs(lum(x, Math.min(y + 1, n - 1)) - l);
        }
      }
      const k = cell * cell;
      const lm = l1 / k;
      out[o++] = mean[0] / k;
      out[o++] = mean[1] / k;
      out[o++] = mean[2] / k;
      out[o++] = Math.sqrt(Math.max(0, l2 / k - lm * lm));
      out[o++] = dx / k;
      out[o++] = dy / k;
    }
  }
  return out;
}
