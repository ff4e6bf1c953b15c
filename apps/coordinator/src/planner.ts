/**
 * The engine's view of a strategy (core/federated strategies: Flower's configure/aggregate):
 * which score each site computes, which layers each site trains this round, and how the
 * updates reduce to the next global model. The engine owns the loop, deadlines and quorum.
 *
 * f3ocus's solver runs in a worker thread within `solverMaxMs` (solver-run.ts), so the event
 * loop keeps serving frames while it searches.
 */
import {
  createServerOptimizer,
  createStrategy,
  type AggregateResult,
  type RoundFailure,
  type RoundResult,
  type ScoreMethod,
  type SelectionSolver,
  type Strategy,
} from '@focus-fl/core/federated';
import type { NamedArrays } from '@focus-fl/core/tensors';
import type { FederationConfig } from './config.js';
import { runSolver } from './solver-run.js';

export interface PlanInput {
  round: number;
  layers: string[];
  sites: { site: string; budget: number; numSamples: number; scores: number[] }[];
}

export interface Plan {
  assignments: Record<string, string[]>;
  front: { importance: number; variance: number }[];
  selected: number | null;
  solverMs: number;
  info: Record<string, unknown>;
}

export interface Planner {
  readonly name: string;
  readonly scoreMethod: ScoreMethod;
  plan(input: PlanInput): Promise<Plan>;
  aggregate(
    round: number,
    global: NamedArrays,
    assignments: Record<string, string[]>,
    results: RoundResult[],
    failures: RoundFailure[],
  ): AggregateResult;
}

export function createPlanner(
  config: Pick<FederationConfig, 'strategy' | 'algo' | 'seed' | 'solverMaxMs' | 'pick'> &
    Partial<Pick<FederationConfig, 'serverOptimizer'>>,
  solver: SelectionSolver = runSolver,
): Planner {
  const strategy: Strategy = createStrategy(config.strategy, {
    algo: config.algo,
    maxTimeMs: config.solverMaxMs,
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
          scores: { layers: input.layers, scores: s.scores },
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
    aggregate(round, global, assignments, results, failures) {
      const agg = strategy.aggregateRound({ round, global, assignments }, results, failures);
      // The server optimiser steps on the masked aggregation's per-layer delta; its state
      // lives as long as this planner (a restarted coordinator starts it afresh).
      return { ...agg, params: server.step(global, agg) };
    },
  };
}
