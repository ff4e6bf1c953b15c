// Cache of the embedding outputs of held-out samples, for evaluate (./evaluate.ts).
//
// The embeddings (word + position + LayerNorm, patch projection + position, modality types)
// read only frozen weights, so a sample's embedded sequence is the same at every evaluation of
// a federation: a site evaluates the same test split every round. Evaluate keeps it per
// sample (the float32 values embed() gave, so reusing them changes no bit of what follows)
// and skips the image and token encoding and the embedding of samples it has seen. An entry is
// used only while the weights embed() reads are the same tensors (VqaModel.valueTokens), on the
// same backend with the same kernels, and for the same sample contents (its image array and
// question); anything else empties the cache. Bounded in bytes; past the bound, new samples
// are embedded as before and not kept.
import * as tf from '@tensorflow/tfjs';
import { EMBED_PARAM_NAMES, type HiddenState } from '../model/forward.js';
import type { SampleLike } from '../model/batch.js';
import type { VqaModel } from '../model/vqa-model.js';
import { wasmKernelVariant } from '../model/wasm-kernels.js';

/** Default bound of one model's cache: 32 MiB (~3,900 `tiny` samples). */
export const DEFAULT_EMBED_CACHE_BYTES = 32 * 2 ** 20;

interface Entry {
  image: Uint8Array;
  question: string;
  size: number;
  channels: number;
  /** [L, H] */
  x: Float32Array;
  /** [L] */
  bias: Float32Array;
}

interface ModelCache {
  tokens: unknown[];
  rows: WeakMap<SampleLike, Entry>;
  bytes: number;
}

const caches = new WeakMap<VqaModel, ModelCache>();
let maxBytes = DEFAULT_EMBED_CACHE_BYTES;
let hits = 0;

/** Samples served from the cache so far (tests check that it is really used). */
export function evalEmbedCacheHits(): number {
  return hits;
}

/** Sets the per-model bound (0 switches the cache off); returns the previous one. Tests, benches. */
export function setEvalEmbedCacheBytes(bytes: number): number {
  if (!(bytes >= 0)) throw new Error(`eval embedding cache: bytes must be >= 0, got ${bytes}`);
  const prev = maxBytes;
  maxBytes = bytes;
  return prev;
}

/** The model's cache, emptied when what embed() reads has changed since it was filled. */
function cacheOf(model: VqaModel): ModelCache | undefined {
  if (maxBytes === 0) return undefined;
  const tokens: unknown[] = [tf.getBackend(), wasmKernelVariant(), model.config.hidden];
  for (const n of EMBED_PARAM_NAMES) tokens.push(...model.valueTokens(n));
  let c = caches.get(model);
  if (!c || c.tokens.length !== tokens.length || c.tokens.some((t, i) => t !== tokens[i])) {
    c = { tokens, rows: new WeakMap(), bytes: 0 };
    caches.set(model, c);
  }
  return c;
}

function entryOf(c: ModelCache, s: SampleLike): Entry | undefined {
  const e = c.rows.get(s);
  return e &&
    e.image === s.image &&
    e.question === s.question &&
    e.size === s.size &&
    e.channels === s.channels
    ? e
    : undefined;
}

/**
 * The embedded state of `chunk` from the cache, when every sample of it is there (the
 * caller owns the tensors); otherwise undefined.
 */
export function cachedEmbedding(
  model: VqaModel,
  chunk: readonly SampleLike[],
): HiddenState | undefined {
  const c = cacheOf(model);
  if (!c) return undefined;
  const entries = chunk.map((s) => entryOf(c, s));
  if (entries.some((e) => !e)) return undefined;
  hits += chunk.length;
  const [L, H] = [entries[0]!.bias.length, model.config.hidden];
  const x = new Float32Array(chunk.length * L * H);
  const bias = new Float32Array(chunk.length * L);
  entries.forEach((e, i) => {
    x.set(e!.x, i * L * H);
    bias.set(e!.bias, i * L);
  });
  return {
    x: tf.tensor3d(x, [chunk.length, L, H]),
    bias: tf.tensor4d(bias, [chunk.length, 1, 1, L]),
  };
}

/** Keeps the embedded state of `chunk` (as embed() gave it), within the byte bound. */
export async function keepEmbedding(
  model: VqaModel,
  chunk: readonly SampleLike[],
  state: HiddenState,
): Promise<void> {
  const c = cacheOf(model);
  if (!c) return;
  const [n, L, H] = state.x.shape;
  const per = 4 * L * (H + 1);
  if (c.bytes + per > maxBytes) return;
  const [x, bias] = await Promise.all([state.x.data(), state.bias.data()]);
  chunk.forEach((s, i) => {
    if (i >= n || c.bytes + per > maxBytes || entryOf(c, s)) return;
    c.rows.set(s, {
      image: s.image,
      question: s.question,
      size: s.size,
      channels: s.channels,
      x: (x as Float32Array).slice(i * L * H, (i + 1) * L * H),
      bias: (bias as Float32Array).slice(i * L, (i + 1) * L),
    });
    c.bytes += per;
  });
}
