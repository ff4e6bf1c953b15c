// Accuracy and loss overall and per question type (docs/method.md §5 question types).
// Held-out samples seen before start from their cached embeddings (./eval-embed-cache.ts:
// the same float32 values, so the same results).
import * as tf from '@tensorflow/tfjs';
import { answerIndex, disposeBatch, encodeBatch, type SampleLike } from '../model/batch.js';
import { classify, embed, runBlocks, type HiddenState } from '../model/forward.js';
import type { VqaModel } from '../model/vqa-model.js';
import { AccuracyTally } from './accuracy-tally.js';
import { AnswerMask } from './answer-mask.js';
import { cachedEmbedding, keepEmbedding } from './eval-embed-cache.js';
import { dequantizedFrozen } from './frozen-weights.js';
import { autoMicroBatchSize, backendLimits } from './memory-budget.js';
import type { AnswerMaskRule } from './recipe-names.js';

export interface EvalResult {
  accuracy: number;
  loss: number;
  n: number;
  perType: Record<string, { accuracy: number; n: number }>;
  /** With `opts.predictions`: the predicted answer of every sample, in order. */
  predictions?: string[];
  /**
   * With `opts.logProbabilities`: every sample's log answer probabilities under the rule
   * (log-softmax of the masked logits), row-major [n, answers.length], in sample order; a
   * masked answer's entry is about MASKED_LOGIT (its probability is 0 in float32).
   */
  logProbabilities?: Float32Array;
}

/** Answers outside the head's vocabulary count as wrong (and add no loss). */
export async function evaluate(
  model: VqaModel,
  samples: readonly SampleLike[],
  opts: {
    batchSize?: number;
    /** The prediction rule matching training's `answerMask` (answer-mask.ts); default 'none'. */
    answerMask?: AnswerMaskRule;
    /** Rule 'site': the answers of the site's training split (not of `samples`). */
    siteAnswers?: Iterable<string>;
    /** Also return the predicted answers (argmax under the rule), e.g. to count confusions. */
    predictions?: boolean;
    /** Also return the log answer probabilities under the rule (e.g. to mix two models'). */
    logProbabilities?: boolean;
  } = {},
): Promise<EvalResult> {
  if (samples.length === 0) throw new Error('evaluate: samples is empty');
  if (opts.batchSize !== undefined && (!Number.isInteger(opts.batchSize) || opts.batchSize < 1))
    throw new Error(`evaluate: batchSize must be a positive integer, got ${opts.batchSize}`);
  // Blocks run one tidy each (model.forwardPrefix), so a chunk holds one block's
  // activations at a time: chunks of at most 64, fewer when the backend's memory holds fewer
  // (./memory-budget.ts).
  const bs =
    opts.batchSize ??
    Math.min(64, autoMicroBatchSize(model.config, 1, backendLimits(), { backward: false }));
  const mask = new AnswerMask(model.answers, opts.answerMask, {
    siteAnswers: opts.siteAnswers,
  });
  const predictions: string[] | undefined = opts.predictions ? [] : undefined;
  const logProbs = opts.logProbabilities
    ? new Float32Array(samples.length * model.answers.length)
    : undefined;
  const tally = new AccuracyTally();
  let lossSum = 0;
  const c = model.config;
  const index = answerIndex(model.answers);
  // The int8 frozen weights, dequantized once for the evaluation (./frozen-weights.ts).
  const frozen = dequantizedFrozen(model, 0);
  try {
    for (let i = 0; i < samples.length; i += bs) {
      const chunk = samples.slice(i, i + bs);
      // The model's forwardPrefix over every block, with the embedding from the cache when
      // each sample of the chunk is there: block by block, one tidy each, so a chunk holds one
      // block's activations at a time.
      const p = model.lookup(frozen);
      let state: HiddenState | undefined = cachedEmbedding(model, chunk);
      if (!state) {
        const batch = encodeBatch(chunk, {
          config: c,
          answers: model.answers,
          allowUnknownAnswers: true,
        });
        try {
          state = tf.tidy(() => {
            const st = embed(c, p, batch);
            return { x: st.x, bias: st.bias };
          });
        } finally {
          disposeBatch(batch);
        }
        await keepEmbedding(model, chunk, state);
      }
      for (let b = 0; b < c.numLayers; b++) {
        const prev: HiddenState = state;
        state = tf.tidy(() => {
          const st = runBlocks(c, p, prev, b, b + 1);
          return { x: st.x, bias: st.bias };
        });
        prev.x.dispose();
      }
      const final = state;
      // Unknown answers: label -1, never correct, no loss (as encodeBatch's allowUnknownAnswers).
      const labels = Int32Array.from(chunk, (s) => index.get(s.answer) ?? -1);
      // The mask is taken from the question type only (never from the answer being scored).
      const bias = mask.bias(chunk.map((s) => ({ questionType: s.questionType })));
      const [predT, lossT, logPT] = tf.tidy(() => {
        const raw = classify(c, p, final.x);
        const logits: tf.Tensor2D = bias ? raw.add(bias) : raw;
        const oh = tf.oneHot(tf.tensor1d(labels, 'int32'), logits.shape[1]);
        const logP = tf.logSoftmax(logits);
        return [logits.argMax(1), tf.neg(tf.sum(tf.mul(oh, logP))), logP];
      });
      const pred = await predT.data();
      lossSum += (await lossT.data())[0];
      if (logProbs) logProbs.set((await logPT.data()) as Float32Array, i * model.answers.length);
      tf.dispose([predT, lossT, logPT, final.x, final.bias]);
      bias?.dispose();
      chunk.forEach((s, j) => {
        predictions?.push(model.answers[pred[j]]);
        tally.add(s.questionType, labels[j] >= 0 && pred[j] === labels[j]);
      });
    }
  } finally {
    tf.dispose(Object.values(frozen));
  }
  return {
    ...tally.summary(lossSum),
    ...(predictions ? { predictions } : {}),
    ...(logProbs ? { logProbabilities: logProbs } : {}),
  };
}

/** Accuracy of always answering the most frequent training answer (a floor to beat). */
export function majorityBaseline(
  train: readonly SampleLike[],
  test: readonly SampleLike[],
): { answer: string; accuracy: number } {
  if (train.length === 0 || test.length === 0)
    throw new Error('majorityBaseline: train and test must be non-empty');
  const counts = new Map<string, number>();
  for (const s of train) counts.set(s.answer, (counts.get(s.answer) ?? 0) + 1);
  let best = '';
  let bestN = -1;
  for (const [a, n] of counts) if (n > bestN) [best, bestN] = [a, n];
  return { answer: best, accuracy: test.filter((s) => s.answer === best).length / test.length };
}
