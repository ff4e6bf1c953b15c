/**
 * The strategy interface, in the spirit of Flower's `Strategy` (style.md): one method per
 * protocol phase, failures passed in beside results. The round engine (apps/coordinator) owns
 * the loop, deadlines and quorum; a strategy only decides (which layers each client trains)
 * and reduces (how the updates become the next global model).
 *
 *   configureRound(ctx)                     -> Promise<RoundPlan> (assignments, front, info)
 *   aggregateRound(ctx, results, failures)  -> AggregateResult (new global params)
 *
 * Layer names are the contract (interfaces.md): `ctx.layers` are the trainable adapter layers
 * in forward order; every assignment lists layers in that order. The head is always trained
 * and never appears in assignments.
 */
import type { NamedArrays } from '../tensors/named.js';
import { mulberry32 } from '../random.js';
import {
  aggregateMaskedDetailed,
  checkClientUpdate,
  type AggregateResult,
  type ClientUpdate,
} from './aggregate.js';
import type { ScoreMethod } from './protocol.js';

/** Per-layer scores a client sent for this round (one per layer, `layers` order). */
export interface ClientScores {
  layers: string[];
  scores: number[];
}

export interface RoundClient {
  name: string;
  /** L_i,max: how many adapter layers this client may train (method.md §2). */
  budget: number;
  numSamples: number;
  scores?: ClientScores;
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
}

/** Whether clients must compute and send scores before the assignment phase. */
export function needsScores(s: Pick<Strategy, 'scoreMethod'>): boolean {
  return s.scoreMethod !== 'none';
}

// ---------------------------------------------------------------------------------------------
// shared pieces

/** Layers that every client trains besides its assignment. */
export const ALWAYS_TRAINED = ['head'] as const;

/**
 * Masked, sample-weighted FedAvg over the results (aggregate.ts). Failed clients contribute
 * nothing (Flower: results and failures are separate); with no results the global model is
 * kept. With `ctx.assignments`, an update touching an unassigned layer is refused.
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
  if (ctx.assignments) {
    for (const u of updates) {
      const assigned = ctx.assignments[u.client!];
      if (!assigned) throw new Error(`client "${u.client}" sent an update but had no assignment`);
      const allowed = [...assigned, ...ALWAYS_TRAINED.filter((l) => hasLayer(ctx.global, l))];
      checkClientUpdate(ctx.global, u, { allowedLayers: allowed });
    }
  }
  return aggregateMaskedDetailed(ctx.global, updates);
}

function hasLayer(params: NamedArrays, layer: string): boolean {
  return Object.keys(params).some((n) => n.startsWith(`${layer}/`));
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
 * A client's scores aligned to `layers` by name (clients may list layers in any order), checked
 * finite. Throws naming the client if scores are missing, incomplete or unknown.
 */
export function alignedScores(c: RoundClient, layers: readonly string[], method: string): number[] {
  const s = c.scores;
  if (!s) throw new Error(`client "${c.name}": no ${method} scores for this round`);
  if (!Array.isArray(s.layers) || !Array.isArray(s.scores) || s.layers.length !== s.scores.length) {
    throw new Error(`client "${c.name}": scores.layers and scores.scores must have equal length`);
  }
  const byName = new Map<string, number>();
  s.layers.forEach((l, i) => {
    if (byName.has(l)) throw new Error(`client "${c.name}": layer "${l}" scored twice`);
    byName.set(l, s.scores[i]);
  });
  for (const l of byName.keys()) {
    if (!layers.includes(l)) throw new Error(`client "${c.name}": score for unknown layer "${l}"`);
  }
  return layers.map((l) => {
    const v = byName.get(l);
    if (v === undefined) throw new Error(`client "${c.name}": no score for layer "${l}"`);
    if (typeof v !== 'number' || !Number.isFinite(v)) {
      throw new Error(`client "${c.name}": score for layer "${l}" is not finite (${v})`);
    }
    return v;
  });
}

/**
 * Indices of the B highest scores, returned in layer order. Ties go to the earlier layer
 * (the same rule as importance's topB).
 */
export function topIndices(scores: readonly number[], B: number): number[] {
  return scores
    .map((_, i) => i)
    .sort((a, b) => scores[b] - scores[a] || a - b)
    .slice(0, Math.max(0, Math.min(B, scores.length)))
    .sort((a, b) => a - b);
}

/** Layer names of a set of indices (kept in layer order). */
export function namesOf(layers: readonly string[], idx: readonly number[]): string[] {
  return [...idx].sort((a, b) => a - b).map((i) => layers[i]);
}

/**
 * A seed derived from the run seed, the round and a tag (e.g. a client name), so random
 * choices differ across rounds and clients but replay exactly (FNV-1a over the parts).
 */
export function deriveSeed(seed: number, round: number, tag = ''): number {
  let h = 0x811c9dc5;
  const mix = (x: number) => {
    h ^= x & 0xff;
    h = Math.imul(h, 0x01000193) >>> 0;
  };
  for (const v of [seed >>> 0, round >>> 0]) for (let k = 0; k < 4; k++) mix(v >>> (8 * k));
  for (let i = 0; i < tag.length; i++) {
    const c = tag.charCodeAt(i);
    mix(c);
    mix(c >>> 8);
  }
  return h | 0;
}

/** `k` distinct indices out of `n`, uniformly at random (partial Fisher-Yates). */
export function randomSubset(n: number, k: number, seed: number): number[] {
  const rand = mulberry32(seed);
  const idx = Array.from({ length: n }, (_, i) => i);
  const m = Math.max(0, Math.min(k, n));
  for (let i = 0; i < m; i++) {
    const j = i + Math.floor(rand() * (n - i));
    [idx[i], idx[j]] = [idx[j], idx[i]];
  }
  return idx.slice(0, m).sort((a, b) => a - b);
}

/** n_l for each layer and the diversity penalty V = (1/L) sum_l (n_l - mean n)^2 (method.md §2). */
export function selectionStats(
  assignments: Record<string, string[]>,
  layers: readonly string[],
): { counts: number[]; variance: number } {
  const counts = layers.map(() => 0);
  const index = new Map(layers.map((l, i) => [l, i]));
  for (const ls of Object.values(assignments)) for (const l of ls) counts[index.get(l)!]++;
  const mean = counts.reduce((a, b) => a + b, 0) / layers.length;
  const variance = counts.reduce((a, n) => a + (n - mean) ** 2, 0) / layers.length;
  return { counts, variance };
}
