/**
 * The strategy interface, in the spirit of Flower's `Strategy`: one method per
 * protocol phase, failures passed in beside results. The round engine (apps/coordinator) owns
 * the loop, deadlines and quorum; a strategy only decides (which layers each client trains)
 * and reduces (how the updates become the next global model).
 *
 *   configureRound(ctx)                     -> Promise<RoundPlan> (assignments, front, info)
 *   aggregateRound(ctx, results, failures)  -> AggregateResult (new global params)
 *   aggregateEvaluation(round, reports)     -> global accuracy and loss
 *
 * Layer names are the contract (interfaces.md): `ctx.layers` are the trainable adapter layers
 * in forward order; every assignment lists layers in that order. The head is always trained
 * and never appears in assignments.
 */
import { HEAD_LAYER, layerOf, type NamedArrays } from '../tensors/named.js';
import { varianceOfCounts } from '@focus-fl/solvers';
import { layerScoresProblem, type LayerScores } from '../importance/methods.js';
import {
  aggregateMaskedDetailed,
  type AggregateResult,
  type ClientUpdate,
  type HeadAggregation,
} from './aggregate.js';
import type { ScoreMethod } from './protocol.js';

export interface RoundClient {
  name: string;
  /** L_i,max: how many adapter layers this client may train (docs/method.md §2). */
  budget: number;
  numSamples: number;
  /** The scores it sent this round, named (importance's LayerScores). */
  scores?: LayerScores;
}

export interface RoundContext {
  round: number;
  clients: RoundClient[];
  /** Trainable adapter layers in forward order. */
  layers: string[];
  seed: number;
}

export interface FrontPoint {
  importance: number;
  variance: number;
}

export interface RoundPlan {
  /** client name -> layers to train this round, in `ctx.layers` order. */
  assignments: Record<string, string[]>;
  /** The solver's Pareto front (f3ocus only), descending importance. */
  front?: FrontPoint[];
  /** Index of the picked point in `front`. */
  selected?: number;
  /** Strategy-specific details for logs and the dashboard (JSON-safe). */
  info: Record<string, unknown>;
}

export interface RoundResult {
  client: string;
  numSamples: number;
  deltas: NamedArrays;
}

export interface RoundFailure {
  client: string;
  reason: string;
}

export interface AggregateContext {
  round: number;
  /** Global parameters before this round (adapters + head). */
  global: NamedArrays;
  /** If given, each result may only train its assigned layers (plus `head`). */
  assignments?: Record<string, string[]>;
  /** The deltas' values were already checked finite where they entered (decodeUpdate). */
  valuesChecked?: boolean;
  /** The head's unit of averaging (aggregate.ts); default 'layer'. */
  headAggregation?: HeadAggregation;
}

/** One site's held-out evaluation of the global weights. */
export interface EvaluationReport {
  client: string;
  accuracy: number;
  loss: number;
  numSamples: number;
}

export interface EvaluationSummary {
  accuracy: number | null;
  loss: number | null;
}

export interface Strategy {
  readonly name: string;
  /** Which scores the server asks clients for; 'none' when it needs none. */
  readonly scoreMethod: ScoreMethod;
  /** Async so a strategy may solve off the event loop (f3ocus's injectable `solver`). */
  configureRound(ctx: RoundContext): Promise<RoundPlan>;
  aggregateRound(
    ctx: AggregateContext,
    results: readonly RoundResult[],
    failures: readonly RoundFailure[],
  ): AggregateResult;
  /** Reduces the sites' held-out reports to the round's global metrics. */
  aggregateEvaluation(round: number, reports: readonly EvaluationReport[]): EvaluationSummary;
}

/** Whether clients must compute and send scores before the assignment phase. */
export function needsScores(s: Pick<Strategy, 'scoreMethod'>): boolean {
  return s.scoreMethod !== 'none';
}

// ---------------------------------------------------------------------------------------------
// shared pieces

/** Layers that every client trains besides its assignment. */
export const ALWAYS_TRAINED = [HEAD_LAYER] as const;

/**
 * Masked, sample-weighted FedAvg over the results (aggregate.ts). Failed clients contribute
 * nothing (Flower: results and failures are separate); with no results the global model is
 * kept. With `ctx.assignments`, an update touching an unassigned layer is refused. Every
 * update is validated once, inside the aggregation.
 */
export function aggregateResults(
  ctx: AggregateContext,
  results: readonly RoundResult[],
  failures: readonly RoundFailure[],
): AggregateResult {
  const failed = new Set(failures.map((f) => f.client));
  const updates: ClientUpdate[] = results.map((r) => {
    if (failed.has(r.client)) {
      throw new Error(`client "${r.client}" is listed both as a result and as a failure`);
    }
    return { client: r.client, numSamples: r.numSamples, deltas: r.deltas };
  });
  const hasHead = Object.keys(ctx.global).some((n) => layerOf(n) === HEAD_LAYER);
  const allowedLayers = ctx.assignments
    ? Object.fromEntries(
        Object.entries(ctx.assignments).map(([c, ls]) => [
          c,
          hasHead ? [...ls, ...ALWAYS_TRAINED] : ls,
        ]),
      )
    : undefined;
  return aggregateMaskedDetailed(ctx.global, updates, {
    allowedLayers,
    valuesChecked: ctx.valuesChecked,
    headAggregation: ctx.headAggregation,
  });
}

/**
 * Sample-weighted mean of the sites' held-out reports: the global accuracy and loss
 * (the coordinator holds no data; docs/interfaces.md). Null with no reports.
 */
export function weightedEvaluation(reports: readonly EvaluationReport[]): EvaluationSummary {
  let n = 0;
  let acc = 0;
  let loss = 0;
  for (const r of reports) {
    n += r.numSamples;
    acc += r.accuracy * r.numSamples;
    loss += r.loss * r.numSamples;
  }
  return n > 0 ? { accuracy: acc / n, loss: loss / n } : { accuracy: null, loss: null };
}

/** Validates the context every strategy relies on; throws naming the field. */
export function validateContext(ctx: RoundContext): void {
  if (!Number.isInteger(ctx.round) || ctx.round < 0) {
    throw new Error(`ctx.round must be a non-negative integer, got ${ctx.round}`);
  }
  if (!Number.isInteger(ctx.seed)) throw new Error(`ctx.seed must be an integer, got ${ctx.seed}`);
  if (!Array.isArray(ctx.layers) || ctx.layers.length === 0) {
    throw new Error('ctx.layers must be a non-empty array of layer names');
  }
  if (new Set(ctx.layers).size !== ctx.layers.length) throw new Error('ctx.layers has duplicates');
  const names = new Set<string>();
  for (const c of ctx.clients) {
    if (typeof c.name !== 'string' || c.name.length === 0) {
      throw new Error('ctx.clients[].name must be a non-empty string');
    }
    if (names.has(c.name)) throw new Error(`ctx.clients: client "${c.name}" appears twice`);
    names.add(c.name);
    if (!Number.isInteger(c.budget) || c.budget < 0) {
      throw new Error(`client "${c.name}": budget must be a non-negative integer, got ${c.budget}`);
    }
  }
}

/** The budget a client can actually use: at most every layer. */
export function effectiveBudget(c: RoundClient, numLayers: number): number {
  return Math.min(c.budget, numLayers);
}

/**
 * A client's named scores as a row in `layers` order: the one conversion from names to
 * positions, at the solver's edge (clients may list layers in any order). Throws naming the
 * client if scores are missing or do not describe exactly `layers` (importance's
 * `layerScoresProblem`, the rule the coordinator applies where scores enter).
 */
export function alignedScores(c: RoundClient, layers: readonly string[], method: string): number[] {
  const s = c.scores;
  if (!s) throw new Error(`client "${c.name}": no ${method} scores for this round`);
  const problem = layerScoresProblem(s, layers);
  if (problem) throw new Error(`client "${c.name}": ${problem}`);
  const byName = new Map(s.layers.map((l, i) => [l, s.scores[i]]));
  return layers.map((l) => byName.get(l)!);
}

/** Layer names of a set of indices (kept in layer order). */
export function namesOf(layers: readonly string[], idx: readonly number[]): string[] {
  return [...idx].sort((a, b) => a - b).map((i) => layers[i]);
}

/**
 * n_l for each layer and the diversity penalty V = (1/L) sum_l (n_l - mean n)^2 (docs/method.md §2,
 * M4), computed by the solvers' own `varianceOfCounts`.
 */
export function selectionStats(
  assignments: Record<string, string[]>,
  layers: readonly string[],
): { counts: number[]; variance: number } {
  const counts = layers.map(() => 0);
  const index = new Map(layers.map((l, i) => [l, i]));
  for (const ls of Object.values(assignments)) for (const l of ls) counts[index.get(l)!]++;
  return { counts, variance: varianceOfCounts(counts) };
}
