// PNG/JPEG bytes -> square 8-bit image, decoded by the browser (createImageBitmap works in
// workers) and resampled on an OffscreenCanvas.
import { STORE_SIZE, fromRgba } from './pixels.js';
import type { DecodedImage } from './dicom.js';

export async function decodeImage(name: string, bytes: Uint8Array): Promise<DecodedImage> {
  const type = /\.png$/i.test(name) ? 'image/png' : 'image/jpeg';
  let bitmap: ImageBitmap;
  try {
    bitmap = await createImageBitmap(new Blob([bytes.slice().buffer as ArrayBuffer], { type }));
  } catch (e) {
    throw new Error(
      `${name}: not a decodable ${type === 'image/png' ? 'PNG' : 'JPEG'} image (${(e as Error).message || 'decode failed'})`,
    );
  }
  const size = Math.min(STORE_SIZE, bitmap.width, bitmap.height);
  if (size < 8) throw new Error(`${name}: image of ${bitmap.width}x${bitmap.height} is too small`);
  const canvas = new OffscreenCanvas(size, size);
  const ctx = canvas.getContext('2d');
  if (!ctx) throw new Error('no 2d canvas in this worker');
  ctx.drawImage(bitmap, 0, 0, size, size);
  bitmap.close();
  const { data, channels } = fromRgba(ctx.getImageData(0, 0, size, size).data, size * size);
  return { data, size, channels };
}
