// The codec wasm binaries read from node_modules (Node: unit tests, benches).
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { FrameDecoders, type WasmBinaries } from '../../src/import/dicom-codecs.js';

const require = createRequire(import.meta.url);
const read = (spec: string) => () => readFile(require.resolve(spec));

export const NODE_WASM: WasmBinaries = {
  charls: read('@cornerstonejs/codec-charls/decodewasm'),
  openjpeg: read('@cornerstonejs/codec-openjpeg/decodewasm'),
  libjpegTurbo: read('@cornerstonejs/codec-libjpeg-turbo-8bit/decodewasm'),
};

export const nodeDecoders = (): FrameDecoders => new FrameDecoders(NODE_WASM);
