import type { AggregateResult } from '../aggregate.js';
import type { ScoreMethod } from '../protocol.js';
import {
  aggregateResults,
  validateContext,
  weightedEvaluation,
  type EvaluationReport,
  type EvaluationSummary,
  type AggregateContext,
  type RoundContext,
  type RoundFailure,
  type RoundPlan,
  type RoundResult,
  type Strategy,
} from '../strategy.js';

/**
 * Common shape of every strategy here: validate the context, decide, and aggregate with the
 * masked sample-weighted FedAvg (all strategies in the paper share the aggregation; they
 * differ only in which layers each client trains).
 */
export abstract class BaseStrategy implements Strategy {
  abstract readonly name: string;
  abstract readonly scoreMethod: ScoreMethod;

  async configureRound(ctx: RoundContext): Promise<RoundPlan> {
    validateContext(ctx);
    return this.decide(ctx);
  }

  protected abstract decide(ctx: RoundContext): RoundPlan | Promise<RoundPlan>;

  aggregateRound(
    ctx: AggregateContext,
    results: readonly RoundResult[],
    failures: readonly RoundFailure[],
  ): AggregateResult {
    return aggregateResults(ctx, results, failures);
  }

  aggregateEvaluation(_round: number, reports: readonly EvaluationReport[]): EvaluationSummary {
    return weightedEvaluation(reports);
  }
}
