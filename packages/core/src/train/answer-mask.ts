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
import { HEAD_LAYER, layerOf, type NamedArrays } from '../tensors/named.js';

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
 * One site's answer rule, built once: the allowed answers of each question type (restricted to
 * the site's answers under rule 'site'). Training, evaluation and the head-update restriction
 * all read their masks from it, so the three can never disagree.
 */
export class AnswerMask {
  readonly rule: AnswerMaskRule;
  private readonly answers: readonly string[];
  private readonly site: ReadonlySet<string> | undefined;
  private readonly rows = new Map<string, Float32Array | null>();

  constructor(
    answers: readonly string[],
    rule: AnswerMaskRule = 'none',
    opts: AnswerMaskOptions = {},
  ) {
    if (!(ANSWER_MASKS as readonly string[]).includes(rule)) {
      throw new Error(
        `answer mask must be one of ${ANSWER_MASKS.join(', ')}, got "${String(rule)}"`,
      );
    }
    if (rule === 'site' && !opts.siteAnswers)
      throw new Error("answer mask 'site' needs the site's answers (siteAnswers)");
    this.rule = rule;
    this.answers = answers;
    this.site = rule === 'site' ? new Set(opts.siteAnswers) : undefined;
  }

  /**
   * The sample's row of offsets (0 allowed, MASKED_LOGIT not), or null when the sample is not
   * masked: rule 'none', an unknown question type, or an own answer its type does not list
   * (imported data with other answers). The rule never makes the right answer impossible.
   */
  rowOf(s: MaskableSample): Float32Array | null {
    if (this.rule === 'none') return null;
    const sets = answersByQuestionType() as Record<string, ReadonlySet<string>>;
    const allowed = sets[s.questionType];
    if (!allowed || (s.answer !== undefined && !allowed.has(s.answer))) return null;
    let r = this.rows.get(s.questionType);
    if (r === undefined) {
      const row = new Float32Array(this.answers.length);
      this.answers.forEach(
        (a, j) => (row[j] = allowed.has(a) && (!this.site || this.site.has(a)) ? 0 : MASKED_LOGIT),
      );
      this.rows.set(s.questionType, (r = row));
    }
    return r;
  }

  /** Additive logit offsets [n, answers.length]; null for rule 'none'. Caller disposes. */
  bias(samples: readonly MaskableSample[]): tf.Tensor2D | null {
    if (this.rule === 'none') return null;
    const A = this.answers.length;
    const out = new Float32Array(samples.length * A);
    samples.forEach((s, i) => {
      const r = this.rowOf(s);
      if (r) out.set(r, i * A);
    });
    return tf.tensor2d(out, [samples.length, A]);
  }

  /**
   * Per answer: whether training on `samples` can move it, i.e. some sample's row allows it
   * (an unmasked sample allows every answer). The softmax gradient of a masked answer is
   * exactly zero, so the others are the answers this site does not train.
   */
  reachable(samples: Iterable<MaskableSample>): boolean[] {
    const out = new Array<boolean>(this.answers.length).fill(false);
    for (const s of samples) {
      const r = this.rowOf(s);
      if (!r) return out.fill(true);
      r.forEach((v, j) => {
        if (v === 0) out[j] = true;
      });
    }
    return out;
  }
}

/**
 * Additive logit offsets [n, answers.length] of rule `rule` for `samples` (AnswerMask.bias).
 * Returns null for rule 'none'. Caller disposes.
 */
export function answerMaskBias(
  samples: readonly MaskableSample[],
  answers: readonly string[],
  rule: AnswerMaskRule = 'none',
  opts: AnswerMaskOptions = {},
): tf.Tensor2D | null {
  return new AnswerMask(answers, rule, opts).bias(samples);
}

/**
 * The head update a site sends under an answer rule: the delta of every answer it cannot train
 * (`reachable[j]` false) set to exactly zero. Those answers got no gradient; what moved them is
 * only weight decay, which would otherwise make them look trained to the aggregation's
 * per-answer rule (federated/aggregate.ts, `headAggregation: 'answer'`) and shrink foreign answers
 * towards zero. Head parameters are those of layer `head`; the answer is their last axis.
 * Returns new arrays for the head, the others as they were.
 */
export function restrictHeadDeltas(
  deltas: NamedArrays,
  reachable: readonly boolean[],
): NamedArrays {
  const out: NamedArrays = {};
  for (const [name, t] of Object.entries(deltas)) {
    if (layerOf(name) !== HEAD_LAYER) {
      out[name] = t;
      continue;
    }
    const A = t.shape[t.shape.length - 1];
    if (A !== reachable.length) {
      throw new Error(
        `restrictHeadDeltas: "${name}" has ${A} answers on its last axis, the mask ${reachable.length}`,
      );
    }
    const data = new Float32Array(t.data);
    for (let k = 0; k < data.length; k++) if (!reachable[k % A]) data[k] = 0;
    out[name] = { shape: [...t.shape], data };
  }
  return out;
}
