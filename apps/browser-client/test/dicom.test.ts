import { describe, expect, it } from 'vitest';
import { decodeDicom, looksLikeDicom } from '../src/import/dicom.js';
import { dicom16 } from '@focus-fl/testkit/fixtures';
import { nodeDecoders } from './helpers/wasm-node.js';

const decoders = nodeDecoders();

describe('DICOM import', () => {
  it('decodes an explicit-VR-LE 16-bit MONOCHROME2 file to 8-bit with min..max windowing', async () => {
    // 4x4 ramp 0..1500: min..max maps to 0..255 (no window in the file).
    const values = Uint16Array.from({ length: 16 }, (_, i) => i * 100);
    const bytes = new Uint8Array(dicom16(4, 4, values));
    expect(looksLikeDicom(bytes)).toBe(true);
    const img = await decodeDicom('ramp.dcm', bytes, decoders);
    expect(img.size).toBe(4);
    expect(img.channels).toBe(1);
    expect([...img.data]).toEqual([...values].map((v) => Math.round((255 * v) / 1500)));
  });

  it('names the file when it is not DICOM or its pixel data is short', async () => {
    await expect(decodeDicom('x.dcm', new Uint8Array(200), decoders)).rejects.toThrow(/^x\.dcm: /);
    const good = new Uint8Array(dicom16(4, 4, new Uint16Array(16)));
    await expect(
      decodeDicom('short.dcm', good.subarray(0, good.length - 8), decoders),
    ).rejects.toThrow(/^short\.dcm: /);
  });
});
