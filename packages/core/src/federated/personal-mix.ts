/**
 * Model interpolation of outputs (Mansour et al., "Three Approaches for Personalization with
 * Applications to Federated Learning", 2020, "model interpolation"): under a personalisation a
 * site has its own model and the shared global one at once, and predicts with the mixture of
 * their answer probabilities, h = λ·h_own + (1 − λ)·h_shared, argmax
 * (docs/federated-recipe.md, "Mixing the own and the shared model"). Both models are scored
 * under the same answer rule, so both put their mass on the same allowed answers. No training
 * step: the cost is a second forward pass at prediction.
 *
 * Pure math on Float32 arrays of log probabilities (the log-softmax of the masked logits, as
 * `evaluate` returns them with `logProbabilities`), mixed in log space so that a masked answer
 * keeps its (huge negative) log probability instead of log 0 = −∞, and the mixture's loss has
 * the scale of `evaluate`'s.
 */
import type { SampleLike } from '../model/batch.js';
import { AccuracyTally } from '../train/accuracy-tally.js';

/** Throws a clear error unless `lambda` is a number in [0, 1]; returns it. */
export function checkPersonalMix(lambda: unknown): number {
  if (typeof lambda !== 'number' || !Number.isFinite(lambda) || lambda < 0 || lambda > 1) {
    throw new Error(
      `personalMix (the own model's weight λ in the mixture of answer probabilities) must be a number in [0, 1], got ${String(lambda)}`,
    );
  }
  return lambda;
}

/** log(e^a + e^b), stable; exact when one side is −∞. */
function logAddExp(a: number, b: number): number {
  if (a === -Infinity) return b;
  if (b === -Infinity) return a;
  const m = Math.max(a, b);
  return m + Math.log1p(Math.exp(Math.min(a, b) - m));
}

/**
 * The mixture log(λ·e^own + (1 − λ)·e^shared), entry by entry. λ = 1 returns `own`'s values
 * exactly and λ = 0 `shared`'s (log 0 = −∞ drops a side without rounding).
 */
export function mixLogProbabilities(
  own: Float32Array,
  shared: Float32Array,
  lambda: number,
): Float32Array {
  checkPersonalMix(lambda);
  if (own.length !== shared.length)
    throw new Error(
      `mixLogProbabilities: the own model has ${own.length} values, the shared one ${shared.length}`,
    );
  const la = Math.log(lambda);
  const lb = Math.log(1 - lambda);
  const out = new Float32Array(own.length);
  for (let i = 0; i < own.length; i++) out[i] = logAddExp(la + own[i], lb + shared[i]);
  return out;
}

export interface ScoredPredictions {
  accuracy: number;
  /** Mean −log p(right answer) over the samples whose answer the head knows (as `evaluate`). */
  loss: number;
  n: number;
  perType: Record<string, { accuracy: number; n: number }>;
  predictions: string[];
}

/**
 * Scores log probabilities [samples.length, answers.length] as `evaluate` scores logits: the
 * prediction is the first answer of the largest value; an answer outside `answers` is wrong and
 * adds no loss; the loss is summed over the others and divided by every sample.
 */
export function scoreLogProbabilities(
  logP: Float32Array,
  answers: readonly string[],
  samples: readonly SampleLike[],
): ScoredPredictions {
  const A = answers.length;
  if (samples.length === 0) throw new Error('scoreLogProbabilities: samples is empty');
  if (logP.length !== samples.length * A)
    throw new Error(
      `scoreLogProbabilities: ${logP.length} values for ${samples.length} samples x ${A} answers`,
    );
  const index = new Map(answers.map((a, j) => [a, j]));
  const tally = new AccuracyTally();
  const predictions: string[] = [];
  let lossSum = 0;
  samples.forEach((s, i) => {
    let best = 0;
    for (let j = 1; j < A; j++) if (logP[i * A + j] > logP[i * A + best]) best = j;
    predictions.push(answers[best]);
    const label = index.get(s.answer);
    if (label !== undefined) lossSum -= logP[i * A + label];
    tally.add(s.questionType, label === best);
  });
  return { ...tally.summary(lossSum), predictions };
}
