// DICOM RLE Lossless (1.2.840.10008.1.2.5, PS3.5 Annex G): a 64-byte header (segment count,
// 15 offsets) then one PackBits segment per byte plane, most significant byte of sample 0
// first. No npm codec covers it on its own, and the format is a page of spec, so it lives here;
// the tests check it against frames encoded by dcmjs-codecs.

/**
 * Decodes one RLE frame to the layout of uncompressed pixel data (little-endian samples,
 * samples interleaved per pixel: PlanarConfiguration 0).
 */
export function decodeRleFrame(
  frame: Uint8Array,
  rows: number,
  cols: number,
  samplesPerPixel: number,
  bitsAllocated: number,
): Uint8Array {
  if (frame.length < 64) throw new Error(`RLE frame has ${frame.length} bytes, under its header`);
  const view = new DataView(frame.buffer, frame.byteOffset, frame.byteLength);
  const segments = view.getUint32(0, true);
  const bytesPerSample = bitsAllocated / 8;
  if (!Number.isInteger(bytesPerSample) || bytesPerSample < 1 || bytesPerSample > 4) {
    throw new Error(`RLE with BitsAllocated ${bitsAllocated} is not supported`);
  }
  const want = samplesPerPixel * bytesPerSample;
  if (segments !== want) {
    throw new Error(
      `RLE frame has ${segments} segments, ${samplesPerPixel}x${bitsAllocated} bit needs ${want}`,
    );
  }
  const n = rows * cols;
  const out = new Uint8Array(n * want);
  for (let s = 0; s < segments; s++) {
    const start = view.getUint32(4 + 4 * s, true);
    const end = s + 1 < segments ? view.getUint32(8 + 4 * s, true) : frame.length;
    if (start < 64 || end > frame.length || start > end) {
      throw new Error(`RLE segment ${s} offsets ${start}..${end} lie outside the frame`);
    }
    const sample = Math.floor(s / bytesPerSample);
    // Segment 0 of a sample is its most significant byte; little-endian output puts it last.
    const byte = bytesPerSample - 1 - (s % bytesPerSample);
    const stride = want;
    let o = sample * bytesPerSample + byte;
    let written = 0;
    let i = start;
    while (i < end && written < n) {
      const h = (frame[i] << 24) >> 24; // signed int8
      i++;
      if (h >= 0) {
        for (let k = 0; k <= h && written < n && i < end; k++, written++, o += stride)
          out[o] = frame[i++];
      } else if (h > -128) {
        const v = frame[i++];
        for (let k = 0; k < 1 - h && written < n; k++, written++, o += stride) out[o] = v;
      }
    }
    if (written < n) throw new Error(`RLE segment ${s} ends after ${written} of ${n} pixels`);
  }
  return out;
}
