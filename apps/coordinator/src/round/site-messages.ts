/**
 * Checks of what a site sends in a round, as pure functions: the message in, a typed value
 * out, or an Error naming what is wrong and why. The protocol schema (core protocol.ts)
 * already guarantees types and finite numbers; these add what needs the round's context.
 * This is the one place where a site's scores and updates are validated.
 */
import { decodeUpdate, type Narrow, type ScoreMethod } from '@focus-fl/core/federated';
import { layerScoresProblem, lntkScoresProblem, type LayerScores } from '@focus-fl/core/methods';
import { HEAD_LAYER, layerOf, type NamedArrays } from '@focus-fl/core/tensors';

export interface CheckedScores {
  scores: LayerScores;
  numSamples: number;
}

export interface CheckedUpdate {
  deltas: NamedArrays;
  numSamples: number;
  metrics: Narrow<'update'>['metrics'];
}

/** Named scores of exactly the federation's layers; LNTK rows also non-negative, not all zero. */
export function checkScores(
  msg: Narrow<'scores'>,
  ctx: { layers: readonly string[]; scoreMethod: ScoreMethod },
): CheckedScores {
  const problem =
    layerScoresProblem(msg.scores, ctx.layers) ??
    (ctx.scoreMethod === 'lntk' ? lntkScoresProblem(msg.scores) : null);
  if (problem) throw new Error(problem);
  return { scores: msg.scores, numSamples: msg.numSamples };
}

/**
 * Decodes an update against the names and shapes it may carry (the assigned layers plus the
 * head) and checks it in full: NaN/Inf, unknown or unassigned layers, wrong shapes, missing or
 * layers. Values are scanned once, by the decoder; aggregation trusts them (`valuesChecked`).
 */
export function checkUpdate(
  msg: Narrow<'update'>,
  ctx: { global: NamedArrays; assigned: readonly string[] },
): CheckedUpdate {
  if (msg.numSamples <= 0) throw new Error('numSamples must be > 0 for an update');
  const allowed = [...ctx.assigned, HEAD_LAYER];
  const expected: Record<string, number[]> = {};
  for (const [name, t] of Object.entries(ctx.global)) {
    if (allowed.includes(layerOf(name))) expected[name] = t.shape;
  }
  // decodeUpdate rejects NaN/Inf, unknown names and wrong shapes, naming the tensor.
  const deltas = decodeUpdate(msg.deltas.bytes, expected);
  const missing = Object.keys(expected).filter((n) => !(n in deltas));
  if (missing.length)
    throw new Error(`update lacks assigned params: ${missing.slice(0, 4).join(', ')}`);
  return { deltas, numSamples: msg.numSamples, metrics: msg.metrics };
}

export function checkEvaluation(msg: Narrow<'evaluation'>): Narrow<'evaluation'>['metrics'] {
  return msg.metrics;
}
