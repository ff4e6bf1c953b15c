// The codec wasm binaries as bundle assets (Vite `?url`), fetched on first use in the worker.
import charlsWasm from '@cornerstonejs/codec-charls/decodewasm?url';
import openjpegWasm from '@cornerstonejs/codec-openjpeg/decodewasm?url';
import libjpegWasm from '@cornerstonejs/codec-libjpeg-turbo-8bit/decodewasm?url';
import { FrameDecoders, type WasmBinaries } from './dicom-codecs.js';

async function bytes(url: string): Promise<ArrayBuffer> {
  const r = await fetch(url);
  if (!r.ok) throw new Error(`codec ${url}: HTTP ${r.status}`);
  return r.arrayBuffer();
}

export const BROWSER_WASM: WasmBinaries = {
  charls: () => bytes(charlsWasm),
  openjpeg: () => bytes(openjpegWasm),
  libjpegTurbo: () => bytes(libjpegWasm),
};

export const browserDecoders = (): FrameDecoders => new FrameDecoders(BROWSER_WASM);
