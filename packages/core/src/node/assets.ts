// Node access to the committed assets (the browser gets the base from the coordinator's
// GET /model/base.safetensors, which serves this same file).
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/** Presets with a committed pretrained base (scripts/pretrain.ts). */
export type BasePreset = 'tiny' | 'small';
export const BASE_PRESETS: readonly BasePreset[] = ['tiny', 'small'];

const asset = (file: string) => fileURLToPath(new URL(`../../assets/${file}`, import.meta.url));

/** Path of the pretrained int8 `tiny` base checkpoint (scripts/pretrain.ts). */
export const TINY_BASE_PATH = asset('tiny-base.safetensors');
/** Path of the pretraining report written next to it. */
export const TINY_BASE_REPORT_PATH = asset('tiny-base.json');
/** The 12-block `small` base and its report. */
export const SMALL_BASE_PATH = asset('small-base.safetensors');
export const SMALL_BASE_REPORT_PATH = asset('small-base.json');

/** Checkpoint and report paths of a preset's committed base. */
export function basePaths(preset: string): { checkpoint: string; report: string } {
  if (preset === 'tiny') return { checkpoint: TINY_BASE_PATH, report: TINY_BASE_REPORT_PATH };
  if (preset === 'small') return { checkpoint: SMALL_BASE_PATH, report: SMALL_BASE_REPORT_PATH };
  throw new Error(
    `no committed pretrained base for preset "${preset}"; presets with one: ${BASE_PRESETS.join(', ')}`,
  );
}

/** The committed int8 base checkpoint of a preset. */
export function readBase(preset: BasePreset): Uint8Array {
  const { checkpoint } = basePaths(preset);
  try {
    return new Uint8Array(readFileSync(checkpoint));
  } catch (e) {
    throw new Error(
      `cannot read the ${preset} base checkpoint at ${checkpoint} (run scripts/pretrain.ts --preset ${preset}): ${(e as Error).message}`,
    );
  }
}

export function readTinyBase(): Uint8Array {
  return readBase('tiny');
}
