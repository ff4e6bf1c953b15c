// FLOP count of a training step (the derivation is in this folder's README.md, "FLOP count of a
// training step"): matrix products only, 2 FLOPs per multiply-add. Element-wise work (LayerNorm,
// softmax, GELU, residual adds, the optimizer) is O(L * H) per sample against O(L * H^2) for
// the products and is not counted, so GFLOP/s figures computed from it are a lower bound.
import { adapterDim, numPatches, type ModelConfig } from './config.js';

export interface StepFlops {
  /** Embeddings + blocks [0, fromBlock): run outside the tape (or read from the cache). */
  prefix: number;
  /** Blocks [fromBlock, L) + pooler + head, on the tape. */
  forward: number;
  backward: number;
  /** What one step computes: forward + backward, plus the prefix unless it is cached. */
  step: number;
}

/** Sequence length: text tokens + image CLS + patches. */
export function sequenceLength(c: ModelConfig): number {
  return c.maxTextLen + 1 + numPatches(c);
}

/**
 * FLOPs of one trainLayers step on `batch` samples with the given trainable blocks (indices;
 * empty = head only). `prefixCached`: the frozen prefix comes from the per-round cache.
 */
export function trainStepFlops(
  c: ModelConfig,
  batch: number,
  trainedBlocks: readonly number[],
  prefixCached: boolean,
): StepFlops {
  if (c.peft !== 'adapter' && c.peft !== 'lora')
    throw new Error(`trainStepFlops: counted for peft 'adapter' and 'lora' only, got '${c.peft}'`);
  const L = sequenceLength(c);
  const H = c.hidden;
  const M = c.mlpDim;
  const A = c.numAnswers;
  const lora = c.peft === 'lora';
  const a = adapterDim(c);
  const r = c.loraRank;
  const embed = 2 * numPatches(c) * c.patchSize * c.patchSize * 3 * H;
  // Per block: q, k, v, o (4 H x H), MLP (H x M, M x H), attention scores Q K^T and context
  // P V (2 L^2 H each, over all heads together), and the unit (adapter down/up or LoRA on q, v).
  const dense = 2 * L * (4 * H * H + 2 * H * M);
  const attn = 2 * 2 * L * L * H;
  const unit = lora ? 2 * 2 * 2 * L * H * r : 2 * 2 * L * H * a;
  const block = dense + attn + unit;
  const classify = 2 * H * H + 2 * H * A;

  const from = trainedBlocks.length ? Math.min(...trainedBlocks) : c.numLayers;
  const trained = new Set(trainedBlocks);
  let bwd = 2 * H * A; // head kernel gradient
  if (from < c.numLayers) bwd += 2 * H * A + 2 * H * H; // d pooled, d first token
  for (let i = from; i < c.numLayers; i++) {
    if (i > from) {
      // Input gradient through every product (the attention products have two inputs that
      // both carry gradient: dQ, dK and dP, dV), plus the unit's weight gradients if trained.
      bwd += dense + 2 * attn + unit + (trained.has(i) ? unit : 0);
    } else if (lora) {
      // Earliest block, LoRA on q, v: the gradient enters through the MLP and o, then the
      // context (dP, dV) and scores (dQ only: k is frozen and its input needs none), then the
      // two LoRA pairs (input gradient of b, weight gradients of a and b).
      bwd += 2 * 2 * L * H * M + 2 * L * H * H + (3 / 2) * attn + (3 / 2) * unit;
    } else {
      // Earliest block, adapter after the MLP: up's input gradient and both weight gradients.
      bwd += (3 / 2) * unit;
    }
  }
  const prefix = embed + from * block;
  const forward = (c.numLayers - from) * block + classify;
  return {
    prefix: batch * prefix,
    forward: batch * forward,
    backward: batch * bwd,
    step: batch * ((prefixCached ? 0 : prefix) + forward + bwd),
  };
}
