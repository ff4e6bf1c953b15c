/**
 * Accuracy overall and per question type, counted one sample at a time: the one tally behind
 * `evaluate` (logits of a model) and `scoreLogProbabilities` (a mixture of two models'
 * probabilities, federated/personal-mix.ts), so both report the same fields the same way.
 * Pure: no tfjs.
 */
export interface AccuracySummary {
  accuracy: number;
  /** The summed loss divided by every sample (answers the head lacks add none). */
  loss: number;
  n: number;
  perType: Record<string, { accuracy: number; n: number }>;
}

export class AccuracyTally {
  private correct = 0;
  private count = 0;
  private readonly per: Record<string, { correct: number; n: number }> = {};

  add(questionType: string, ok: boolean): void {
    const t = (this.per[questionType] ??= { correct: 0, n: 0 });
    t.n += 1;
    this.count += 1;
    if (ok) {
      t.correct += 1;
      this.correct += 1;
    }
  }

  summary(lossSum: number): AccuracySummary {
    const perType: AccuracySummary['perType'] = {};
    for (const [k, v] of Object.entries(this.per))
      perType[k] = { accuracy: v.correct / v.n, n: v.n };
    return {
      accuracy: this.correct / this.count,
      loss: lossSum / this.count,
      n: this.count,
      perType,
    };
  }
}
