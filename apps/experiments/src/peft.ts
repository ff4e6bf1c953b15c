/**
 * Checkpoints for the PEFT families of Table 2 that are a different trainable unit of the same
 * base: LoRA on query/value, or the base's LayerNorm / bias / block tensors as zero-initialised
 * deltas (`peft`, packages/core/src/model/README.md), on exactly the frozen base and head the
 * adapter runs start from.
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { modelSourceFromConfig } from '@focus-fl/coordinator/model-source.js';
import { loadModel, saveModel, type PeftKind } from '@focus-fl/core/model';

/**
 * Writes (once) and returns the path of a checkpoint with `peft` units: the preset's served
 * base (frozen weights + head) with the family's units initialised from `seed` (LoRA B = 0,
 * deltas 0, so the model starts as the base). Written to a temporary name and renamed, so
 * concurrent workers never read half a file.
 */
export function peftCheckpoint(dir: string, preset: string, seed: number, peft: PeftKind): string {
  const src = modelSourceFromConfig({ preset, modelSeed: seed });
  // Named by the served base's content too: a cached file made from an older base (the
  // committed base is retrained from time to time) is never reused.
  const baseHash = createHash('sha256').update(src.baseBytes!).digest('hex').slice(0, 12);
  const path = join(dir, `${preset}-${baseHash}-${peft}-${seed}.safetensors`);
  if (existsSync(path)) return path;
  mkdirSync(dir, { recursive: true });
  const base = loadModel(src.baseBytes!);
  let bytes: Uint8Array;
  try {
    const baseOnly = saveModel(base, { include: 'base', quantize: 'int8' });
    const family = loadModel(baseOnly, { configOverrides: { peft }, seed });
    try {
      bytes = saveModel(family, { quantize: 'int8' });
    } finally {
      family.dispose();
    }
  } finally {
    base.dispose();
  }
  const tmp = `${path}.${process.pid}.tmp`;
  writeFileSync(tmp, bytes);
  renameSync(tmp, path);
  return path;
}
