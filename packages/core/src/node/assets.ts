// Node access to the committed assets (the browser gets the base from the coordinator's
// GET /model/base.safetensors, which serves this same file).
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/** Path of the pretrained int8 `tiny` base checkpoint (scripts/pretrain.ts). */
export const TINY_BASE_PATH = fileURLToPath(
  new URL('../../assets/tiny-base.safetensors', import.meta.url),
);
/** Path of the pretraining report written next to it. */
export const TINY_BASE_REPORT_PATH = fileURLToPath(
  new URL('../../assets/tiny-base.json', import.meta.url),
);

export function readTinyBase(): Uint8Array {
  try {
    return new Uint8Array(readFileSync(TINY_BASE_PATH));
  } catch (e) {
    throw new Error(
      `cannot read the tiny base checkpoint at ${TINY_BASE_PATH} (run scripts/pretrain.ts): ${(e as Error).message}`,
    );
  }
}
