import { describe, expect, it } from 'vitest';
import { IMAGE_STATS_DIM, imageStatistics, STATS_PER_CELL } from '../src/train/index.js';

const sample = (image: Uint8Array, size: number, channels: 1 | 3) => ({
  image,
  size,
  channels,
  question: '',
  answer: '',
  questionType: 'x',
});

describe('imageStatistics', () => {
  it('matches values worked out by hand on an 8 x 8 image (2 x 2 px cells)', () => {
    // Columns 0-3 white (255), 4-7 black, grey: the cells left of the edge are white and flat;
    // the cells holding column 3 see one white -> black step per row in |dx|.
    const img = new Uint8Array(64);
    for (let y = 0; y < 8; y++) for (let x = 0; x < 4; x++) img[y * 8 + x] = 255;
    const f = imageStatistics(sample(img, 8, 1));
    expect(f.length).toBe(IMAGE_STATS_DIM);
    const cell = (gx: number, gy: number) =>
      Array.from(f.subarray((gy * 4 + gx) * STATS_PER_CELL, (gy * 4 + gx + 1) * STATS_PER_CELL));
    // [mean R, G, B, luminance deviation, mean |dx|, mean |dy|]
    expect(cell(0, 0)).toEqual([1, 1, 1, 0, 0, 0]);
    // Cell 1 holds columns 2-3: of its 4 pixels, the two in column 3 step down to black.
    expect(cell(1, 2)).toEqual([1, 1, 1, 0, 0.5, 0]);
    expect(cell(3, 3)).toEqual([0, 0, 0, 0, 0, 0]);
  });

  it('reads a grey image as the RGB image with three equal channels', () => {
    const grey = new Uint8Array(28 * 28).map((_, i) => (i * 37) % 256);
    const rgb = new Uint8Array(28 * 28 * 3).map((_, i) => grey[Math.floor(i / 3)]);
    expect(Array.from(imageStatistics(sample(grey, 28, 1)))).toEqual(
      Array.from(imageStatistics(sample(rgb, 28, 3))),
    );
  });

  it('luminance deviation of a checkerboard cell is 0.5; colour means per channel', () => {
    const img = new Uint8Array(8 * 8 * 3);
    for (let y = 0; y < 8; y++)
      for (let x = 0; x < 8; x++) {
        const on = (x + y) % 2 === 0 ? 255 : 0;
        img.set([on, 0, 255], (y * 8 + x) * 3);
      }
    const f = imageStatistics(sample(img, 8, 3));
    // Luminance (R + G + B) / 3 alternates 2/3 and 1/3: deviation 1/6; R mean 0.5, B mean 1.
    expect(f[0]).toBeCloseTo(0.5, 6);
    expect(f[1]).toBe(0);
    expect(f[2]).toBe(1);
    expect(f[3]).toBeCloseTo(1 / 6, 6);
    expect(f[4]).toBeCloseTo(1 / 3, 6);
    expect(f[5]).toBeCloseTo(1 / 3, 6);
  });

  it('names a bad image', () => {
    expect(() => imageStatistics(sample(new Uint8Array(10), 8, 1))).toThrow(/expected 8x8x1/);
    expect(() => imageStatistics(sample(new Uint8Array(36), 6, 1))).toThrow(/not a multiple/);
  });
});
