/**
 * The local recipe a round's config asks for, as `trainLayers` / `evaluate` options (every
 * site implementation maps the wire config the same way; docs/federated-recipe.md).
 */
import type { AnswerMaskRule, LocalOptimizerName } from '../train/recipe-names.js';

export { ANSWER_MASKS, LOCAL_OPTIMIZERS } from '../train/recipe-names.js';
import type { RoundConfig } from './protocol.js';

export interface LocalTrainOptions {
  optimizer?: LocalOptimizerName;
  momentum?: number;
  proxMu?: number;
  answerMask?: AnswerMaskRule;
}

/** trainLayers options of the round's local recipe (fields the config leaves out stay unset). */
export function localTrainOptions(config: Partial<RoundConfig> | undefined): LocalTrainOptions {
  const out: LocalTrainOptions = {};
  if (config?.localOptimizer !== undefined) out.optimizer = config.localOptimizer;
  if (config?.momentum !== undefined) out.momentum = config.momentum;
  if (config?.proxMu !== undefined) out.proxMu = config.proxMu;
  if (config?.answerMask !== undefined) out.answerMask = config.answerMask;
  return out;
}

/**
 * evaluate options matching the round's training (the same answer mask). `trainAnswers`: the
 * answers of the site's training split (rule 'site' restricts predictions to them).
 */
export function localEvalOptions(
  config: Partial<RoundConfig> | undefined,
  trainAnswers: () => Iterable<string>,
): { answerMask?: AnswerMaskRule; siteAnswers?: Iterable<string> } {
  if (config?.answerMask === undefined) return {};
  return config.answerMask === 'site'
    ? { answerMask: 'site', siteAnswers: trainAnswers() }
    : { answerMask: config.answerMask };
}
