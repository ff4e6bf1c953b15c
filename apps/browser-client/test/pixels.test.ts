import { describe, expect, it } from 'vitest';
import { fromRgba, resizeSquare, toRgba, windowTo8bit } from '../src/import/pixels.js';

describe('pixel helpers', () => {
  it('resizeSquare keeps a constant image constant and is exact at identity size', () => {
    const flat = new Uint8Array(10 * 6).fill(77);
    expect([...new Set(resizeSquare(flat, 10, 6, 1, 4))]).toEqual([77]);
    const img = Uint8Array.from({ length: 16 * 3 }, (_, i) => (i * 37) % 256);
    expect(resizeSquare(img, 4, 4, 3, 4)).toEqual(img);
  });

  it('resizeSquare halves a 2x2 checker to its mean', () => {
    const checker = Uint8Array.from([0, 200, 200, 0]);
    // Downsampling 2x2 -> 1x1 samples the centre: the bilinear mean of all four.
    expect([...resizeSquare(checker, 2, 2, 1, 1)]).toEqual([100]);
  });

  it('fromRgba detects grey and colour', () => {
    expect(fromRgba([5, 5, 5, 255, 9, 9, 9, 255], 2)).toEqual({
      data: Uint8Array.from([5, 9]),
      channels: 1,
    });
    const c = fromRgba([1, 2, 3, 255, 4, 4, 4, 255], 2);
    expect(c.channels).toBe(3);
    expect([...c.data]).toEqual([1, 2, 3, 4, 4, 4]);
    expect([...toRgba(Uint8Array.from([7]), 1, 1)]).toEqual([7, 7, 7, 255]);
  });

  it('windowTo8bit follows the DICOM linear window and falls back to min..max', () => {
    expect([...windowTo8bit([100, 600, 1100])]).toEqual([0, 128, 255]);
    // centre 40, width 400 (soft-tissue CT window): -160 -> 0, 240 -> 255, 40 -> ~mid.
    const w = windowTo8bit([-1000, -160, 40, 240, 3000], { center: 40, width: 400 });
    expect(w[0]).toBe(0);
    expect(w[1]).toBe(0);
    expect(Math.abs(w[2] - 128)).toBeLessThanOrEqual(1);
    expect(w[3]).toBe(255);
    expect(w[4]).toBe(255);
  });
});
