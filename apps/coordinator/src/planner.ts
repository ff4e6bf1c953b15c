/**
 * The engine's view of a strategy (core/federated strategies: Flower's configure/aggregate):
 * which score each site computes, which layers each site trains this round, and how the
 * updates and evaluations reduce to the next global model and its metrics. The engine owns
 * the loop, deadlines and quorum.
 *
 * The one translation point between the coordinator's words and the paper's: the engine and
 * the protocol speak of sites; a strategy's math (RoundContext, RoundResult) of clients.
 *
 * f3ocus's solver is bounded by evaluations with an early stop (deterministic by seed) and
 * capped by `solverMaxMs`; large problems run in a worker thread (solver-run.ts), so the event
 * loop keeps serving frames while it searches.
 */
import {
  createServerOptimizer,
  createStrategy,
  type AggregateResult,
  type EvaluationSummary,
  type ScoreMethod,
  type SelectionSolver,
  type Strategy,
} from '@focus-fl/core/federated';
import type { LayerScores } from '@focus-fl/core/methods';
import type { NamedArrays } from '@focus-fl/core/tensors';
import type { FederationConfig } from './config.js';
import { runSolver } from './solver-run.js';

export interface PlanInput {
  round: number;
  layers: string[];
  sites: { site: string; budget: number; numSamples: number; scores: LayerScores }[];
}

export interface Plan {
  assignments: Record<string, string[]>;
  front: { importance: number; variance: number }[];
  selected: number | null;
  solverMs: number;
  info: Record<string, unknown>;
}

export interface AggregateInput {
  round: number;
  global: NamedArrays;
  assignments: Record<string, string[]>;
  /** Updates checked where they entered (round/site-messages.ts). */
  results: { site: string; numSamples: number; deltas: NamedArrays }[];
  failures: { site: string; reason: string }[];
}

export interface SiteEvaluation {
  site: string;
  accuracy: number;
  loss: number;
  numSamples: number;
}

export interface Planner {
  readonly name: string;
  readonly scoreMethod: ScoreMethod;
  plan(input: PlanInput): Promise<Plan>;
  aggregate(input: AggregateInput): AggregateResult;
  aggregateEvaluation(round: number, reports: SiteEvaluation[]): EvaluationSummary;
}

/** Evaluation budget of a round's solve when the config names none (the solvers' default). */
export const DEFAULT_SOLVER_EVALUATIONS = 20_000;

/**
 * Early stop of a round's solve: this many evaluations in a row without a new Pareto-archive
 * point. Measured on 4-9 sites x 6-24 layers (seeds 1-2, 20,000-evaluation budget), as a share
 * of the hypervolume of a 100,000-evaluation NSGA-II front: NSGA-II (the default) >= 0.998,
 * MOPSO >= 0.997, ABC and ACO >= 0.989, SA >= 0.970, in 5-800 ms; a 1,000-2,000 stall lost up
 * to 9 % (SA, ABC on 9 x 24).
 */
export const SOLVER_STALL_EVALUATIONS = 5_000;

export function createPlanner(
  config: Pick<FederationConfig, 'strategy' | 'algo' | 'seed' | 'solverMaxMs' | 'pick'> &
    Partial<Pick<FederationConfig, 'serverOptimizer' | 'solverMaxEvaluations' | 'headAggregation'>>,
  solver: SelectionSolver = runSolver,
): Planner {
  const strategy: Strategy = createStrategy(config.strategy, {
    algo: config.algo,
    maxEvaluations: config.solverMaxEvaluations ?? DEFAULT_SOLVER_EVALUATIONS,
    stallEvaluations: SOLVER_STALL_EVALUATIONS,
    timeCapMs: config.solverMaxMs,
    ...(config.pick ? { pick: config.pick as never } : {}),
    solver,
  });
  const server = createServerOptimizer(config.serverOptimizer ?? { name: 'fedavg' });
  return {
    name: strategy.name,
    scoreMethod: strategy.scoreMethod,
    async plan(input) {
      const started = Date.now();
      const plan = await strategy.configureRound({
        round: input.round,
        layers: input.layers,
        seed: config.seed,
        clients: input.sites.map((s) => ({
          name: s.site,
          budget: s.budget,
          numSamples: s.numSamples,
          scores: s.scores,
        })),
      });
      return {
        assignments: plan.assignments,
        front: plan.front ?? [],
        selected: plan.selected !== undefined && plan.selected >= 0 ? plan.selected : null,
        solverMs: Date.now() - started,
        info: plan.info,
      };
    },
    aggregate(input) {
      const agg = strategy.aggregateRound(
        {
          round: input.round,
          global: input.global,
          assignments: input.assignments,
          valuesChecked: true,
          headAggregation: config.headAggregation,
        },
        input.results.map((r) => ({ client: r.site, numSamples: r.numSamples, deltas: r.deltas })),
        input.failures.map((f) => ({ client: f.site, reason: f.reason })),
      );
      // The server optimiser steps on the masked aggregation's per-layer delta; its state
      // lives as long as this planner (a restarted coordinator starts it afresh).
      return { ...agg, params: server.step(input.global, agg) };
    },
    aggregateEvaluation(round, reports) {
      return strategy.aggregateEvaluation(
        round,
        reports.map((r) => ({
          client: r.site,
          accuracy: r.accuracy,
          loss: r.loss,
          numSamples: r.numSamples,
        })),
      );
    },
  };
}
