// fp32 copies of the int8 frozen weights a forward pass from block `fromBlock` on reads, made
// once for a whole trainLayers call (or evaluation) instead of at every forward pass.
//
// A model loaded from the int8 base keeps its frozen matrices int8 and dequantizes each one
// just in time, at every use (VqaModel.lookup), so that no full fp32 copy of the base exists
// at once. For `tiny` that is ~300k values converted and uploaded per training step, ~5 % of
// its time (bench/train.bench.ts profile). The copies are the same values dequantize() gives
// every time, so results are the same bits; they are made only while their bytes stay under
// a bound (a large model keeps the just-in-time path). Not copied: the word table (gathered
// row by row from int8), the base of a delta family (read as base + a trained delta), and a
// weight whose products run the fused int8 kernel (webgpu: the kernel reads int8 directly, and
// an fp32 copy would both bypass it and undo its memory saving; model/int8-matmul.ts).
import type * as tf from '@tensorflow/tfjs';
import { EMBED_PARAM_NAMES } from '../model/forward.js';
import type { VqaModel } from '../model/vqa-model.js';

/** Default bound of the copies: 64 MiB (the whole `tiny` base is ~1.3 MiB of matrices). */
export const DEFAULT_FROZEN_COPY_BYTES = 64 * 2 ** 20;

const EMBED = new Set<string>(EMBED_PARAM_NAMES);

/** Whether a forward pass from block `fromBlock` (the blocks before it cached) reads `name`. */
function readFrom(name: string, fromBlock: number): boolean {
  const block = /^block(\d+)[/.]/.exec(name);
  if (block) return Number(block[1]) >= fromBlock;
  if (EMBED.has(name)) return fromBlock === 0 && name !== 'text_embed/word';
  return true;
}

/**
 * Dequantized copies of the int8 weights read from `fromBlock` on, by name (overrides for
 * VqaModel.lookup / apply); empty when they would exceed `maxBytes`. The caller disposes them.
 */
export function dequantizedFrozen(
  model: VqaModel,
  fromBlock: number,
  maxBytes = DEFAULT_FROZEN_COPY_BYTES,
): Record<string, tf.Tensor> {
  const names = model
    .int8ParamNames()
    .filter(
      (n) => readFrom(n, fromBlock) && model.valueTokens(n).length === 1 && !model.runsFusedInt8(n),
    );
  const bytes = names.reduce((a, n) => a + 4 * model.spec(n).shape.reduce((x, y) => x * y, 1), 0);
  if (names.length === 0 || bytes > maxBytes) return {};
  const p = model.lookup({});
  return Object.fromEntries(names.map((n) => [n, p(n)]));
}
