// Answer masking (docs/federated-recipe.md). The head's softmax, in training and at prediction
// alike, runs over a subset of the answers:
// - 'question-type': the answers the question's type can have (the synthetic templates list
//   every answer of a type), e.g. a modality question chooses among the modalities. A global
//   rule: every site applies it the same way.
// - 'site': those answers, restricted further to the ones the site's own training split has
//   (FedRS's restricted softmax, Li & Zhan, KDD 2021, with the matching prediction rule): a
//   site never predicts an answer it has never seen. The site's answer set stays on the site.
import * as tf from '@tensorflow/tfjs';
import { SUBSET_NAMES } from '../data/medmnist.js';
import { QUESTION_TYPES, type QuestionType } from '../data/types.js';
import { templatesOf } from '../data/vqa.js';

import { ANSWER_MASKS, type AnswerMaskRule } from './recipe-names.js';

/** Logit offset of a masked answer: exp(-1e4) underflows to 0 in float32, no NaN. */
export const MASKED_LOGIT = -1e4;

let byType: Readonly<Record<QuestionType, ReadonlySet<string>>> | undefined;

/** Every answer each question type can have, over all subsets' templates. */
export function answersByQuestionType(): Readonly<Record<QuestionType, ReadonlySet<string>>> {
  if (!byType) {
    const m = Object.fromEntries(QUESTION_TYPES.map((t) => [t, new Set<string>()])) as Record<
      QuestionType,
      Set<string>
    >;
    for (const s of SUBSET_NAMES)
      for (const t of templatesOf(s)) for (const a of t.answers) m[t.type].add(a);
    byType = m;
  }
  return byType;
}

export interface AnswerMaskOptions {
  /** Answers of the site's training split (rule 'site'); never taken from scored labels. */
  siteAnswers?: Iterable<string>;
}

export interface MaskableSample {
  questionType: string;
  /** When present (training) and outside its type's answers, that sample is left unmasked. */
  answer?: string;
}

/**
 * Additive logit offsets [n, answers.length]: 0 for an answer its question type allows,
 * MASKED_LOGIT otherwise. A sample of an unknown type, or whose own answer its type does not
 * list (imported data with other answers), is not masked: the rule never makes the right
 * answer impossible. Returns null for rule 'none'. Caller disposes.
 */
export function answerMaskBias(
  samples: readonly MaskableSample[],
  answers: readonly string[],
  rule: AnswerMaskRule = 'none',
  opts: AnswerMaskOptions = {},
): tf.Tensor2D | null {
  if (!(ANSWER_MASKS as readonly string[]).includes(rule)) {
    throw new Error(`answer mask must be one of ${ANSWER_MASKS.join(', ')}, got "${String(rule)}"`);
  }
  if (rule === 'none') return null;
  let site: Set<string> | undefined;
  if (rule === 'site') {
    if (!opts.siteAnswers)
      throw new Error("answer mask 'site' needs the site's answers (siteAnswers)");
    site = new Set(opts.siteAnswers);
  }
  const sets = answersByQuestionType();
  const A = answers.length;
  const rows = new Map<string, Float32Array>();
  const rowOf = (type: string): Float32Array | undefined => {
    const allowed = (sets as Record<string, ReadonlySet<string>>)[type];
    if (!allowed) return undefined;
    let r = rows.get(type);
    if (!r) {
      r = new Float32Array(A);
      answers.forEach(
        (a, j) => (r![j] = allowed.has(a) && (!site || site.has(a)) ? 0 : MASKED_LOGIT),
      );
      rows.set(type, r);
    }
    return r;
  };
  const out = new Float32Array(samples.length * A);
  samples.forEach((s, i) => {
    const r = rowOf(s.questionType);
    if (!r) return;
    if (
      s.answer !== undefined &&
      !(sets as Record<string, ReadonlySet<string>>)[s.questionType].has(s.answer)
    )
      return;
    out.set(r, i * A);
  });
  return tf.tensor2d(out, [samples.length, A]);
}
