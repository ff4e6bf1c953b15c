// Samples -> tensors. Images: uint8 HWC (grey replicated to RGB), resized to the model's input
// side when needed, scaled to [-1, 1]. Questions: BERT WordPiece ids, padded to maxTextLen.
import * as tf from '@tensorflow/tfjs';
import type { ModelConfig } from './config.js';
import type { VqaBatch } from './forward.js';
import { defaultTokenizer, type BertTokenizer } from './tokenizer.js';

/** Shape of data's `VqaSample` (docs/interfaces.md); questionType is any string here so that
 * the pretraining task (shapes, colours, ...) can reuse the same path. */
export interface SampleLike {
  image: Uint8Array;
  size: number;
  channels: 1 | 3;
  question: string;
  answer: string;
  questionType: string;
}

export interface EncodeContext {
  config: Pick<ModelConfig, 'imageSize' | 'maxTextLen'> & { vocabSize?: number };
  /** The answer classes of the head, in output order. */
  answers: readonly string[];
  tokenizer?: BertTokenizer;
  /** Map answers missing from `answers` to label -1 (never correct, zero loss) instead of throwing. */
  allowUnknownAnswers?: boolean;
}

const indexCache = new WeakMap<readonly string[], Map<string, number>>();
export function answerIndex(answers: readonly string[]): Map<string, number> {
  let m = indexCache.get(answers);
  if (!m) {
    m = new Map(answers.map((a, i) => [a, i]));
    indexCache.set(answers, m);
  }
  return m;
}

/** Bilinear resize (half-pixel centres) of one HWC uint8 image into `out` at `offset`, in [-1, 1]. */
function writeImage(s: SampleLike, S: number, out: Float32Array, offset: number): void {
  const n = s.size;
  const ch = s.channels;
  if (s.image.length !== n * n * ch) {
    throw new Error(
      `sample.image: expected ${n}x${n}x${ch} = ${n * n * ch} bytes, got ${s.image.length}`,
    );
  }
  if (n === S) {
    // Same size: each pixel as it is (the values of the general loop below, without its
    // per-pixel index arithmetic; encoding is a few % of a simulated federation).
    const img = s.image;
    for (let i = 0; i < S * S; i++)
      for (let c = 0; c < 3; c++)
        out[offset + i * 3 + c] = img[i * ch + (ch === 1 ? 0 : c)] / 127.5 - 1;
    return;
  }
  const px = (y: number, x: number, c: number) => s.image[(y * n + x) * ch + (ch === 1 ? 0 : c)];
  for (let y = 0; y < S; y++) {
    const fy = Math.min(Math.max(((y + 0.5) * n) / S - 0.5, 0), n - 1);
    const y0 = Math.floor(fy);
    const y1 = Math.min(y0 + 1, n - 1);
    const wy = fy - y0;
    for (let x = 0; x < S; x++) {
      const fx = Math.min(Math.max(((x + 0.5) * n) / S - 0.5, 0), n - 1);
      const x0 = Math.floor(fx);
      const x1 = Math.min(x0 + 1, n - 1);
      const wx = fx - x0;
      for (let c = 0; c < 3; c++) {
        const v =
          n === S
            ? px(y, x, c)
            : (1 - wy) * ((1 - wx) * px(y0, x0, c) + wx * px(y0, x1, c)) +
              wy * ((1 - wx) * px(y1, x0, c) + wx * px(y1, x1, c));
        out[offset + (y * S + x) * 3 + c] = v / 127.5 - 1;
      }
    }
  }
}

export function encodeBatch(samples: readonly SampleLike[], ctx: EncodeContext): VqaBatch {
  if (samples.length === 0) throw new Error('encodeBatch: samples is empty');
  const S = ctx.config.imageSize;
  const T = ctx.config.maxTextLen;
  const tok = ctx.tokenizer ?? defaultTokenizer();
  const idx = answerIndex(ctx.answers);
  const n = samples.length;
  const images = new Float32Array(n * S * S * 3);
  const tokens = new Int32Array(n * T);
  const mask = new Float32Array(n * T);
  const labels = new Int32Array(n);
  samples.forEach((s, i) => {
    if (s.channels !== 1 && s.channels !== 3)
      throw new Error(`sample ${i}: channels must be 1 or 3, got ${String(s.channels)}`);
    writeImage(s, S, images, i * S * S * 3);
    const e = tok.encode(s.question, T);
    const V = ctx.config.vocabSize;
    if (V !== undefined) {
      const bad = e.ids.find((id) => id >= V);
      if (bad !== undefined)
        throw new Error(`sample ${i}: token id ${bad} >= the model's vocabSize ${V}`);
    }
    tokens.set(e.ids, i * T);
    mask.set(e.mask, i * T);
    const a = idx.get(s.answer);
    if (a === undefined && !ctx.allowUnknownAnswers) {
      throw new Error(
        `sample ${i}: answer "${s.answer}" is not in the model's answer vocabulary (${ctx.answers.length} answers)`,
      );
    }
    labels[i] = a ?? -1;
  });
  return {
    images: tf.tensor4d(images, [n, S, S, 3]),
    tokens: tf.tensor2d(tokens, [n, T], 'int32'),
    mask: tf.tensor2d(mask, [n, T]),
    labels: tf.tensor1d(labels, 'int32'),
  };
}

export function disposeBatch(b: VqaBatch): void {
  tf.dispose([b.images, b.tokens, b.mask, b.labels]);
}

/** Rows `indices` of an encoded batch (for minibatches over a pre-encoded set). */
export function sliceBatch(b: VqaBatch, indices: ArrayLike<number>): VqaBatch {
  return tf.tidy(() => {
    const ix = tf.tensor1d(Array.from(indices), 'int32');
    return {
      images: tf.gather(b.images, ix) as tf.Tensor4D,
      tokens: tf.gather(b.tokens, ix) as tf.Tensor2D,
      mask: tf.gather(b.mask, ix) as tf.Tensor2D,
      labels: tf.gather(b.labels, ix) as tf.Tensor1D,
    };
  });
}
