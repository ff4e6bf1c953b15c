/**
 * The one list of layer-scoring methods (Table 1 of Saha et al., F3OCUS, CVPR 2025, and
 * docs/method.md §4) and the rules that need no tfjs. The protocol, the strategy
 * registry, the scorers and the reports all derive their names from `SCORER_METHODS`.
 *
 * Browser- and Node-safe, and free of tfjs, so the protocol and the coordinator can import it.
 */
import { mulberry32 } from '../random.js';

export const SCORER_METHODS = [
  'last',
  'random',
  'magnitude',
  'fishmask',
  'snip',
  'grasp',
  'gradflow',
  'rgn',
  'synflow',
  'fedselect',
  'spt',
  'lntk',
] as const;
export type ScorerMethod = (typeof SCORER_METHODS)[number];

/**
 * Methods whose rule needs neither data nor weights (depth, a seeded draw): the server can
 * apply them alone, so their strategies ask the sites for no scores.
 */
export const DATA_FREE_METHODS = ['last', 'random'] as const satisfies readonly ScorerMethod[];
export type DataFreeMethod = (typeof DATA_FREE_METHODS)[number];

/** Methods a site computes on its own data and weights. */
export const SITE_SCORED_METHODS = SCORER_METHODS.filter(
  (m): m is Exclude<ScorerMethod, DataFreeMethod> =>
    !(DATA_FREE_METHODS as readonly string[]).includes(m),
);
export type SiteScoredMethod = Exclude<ScorerMethod, DataFreeMethod>;

export function isScorerMethod(m: unknown): m is ScorerMethod {
  return typeof m === 'string' && (SCORER_METHODS as readonly string[]).includes(m);
}

/**
 * Scores as they travel from the scorer to the solver's edge: names beside values, never a
 * bare position (docs/interfaces.md). `scores[i]` is the score of `layers[i]`.
 */
export interface LayerScores {
  layers: string[];
  scores: number[];
}

/** `last`: depth itself, so the last B layers have the top B scores (Table 1 "Last"). */
export function depthScores(numLayers: number): number[] {
  return Array.from({ length: numLayers }, (_, i) => i + 1);
}

/**
 * `random` (the paper's "FD", federated dropout): a seeded uniform draw per layer, so the
 * top B of it is a uniformly random B-subset that changes with the seed (round, site).
 */
export function randomScores(numLayers: number, seed: number): number[] {
  const rand = mulberry32(seed ^ 0xfd);
  return Array.from({ length: numLayers }, () => rand());
}

/** The scores of a data-free rule: depth for `last`, a seeded draw for `random`. */
export function dataFreeScores(method: DataFreeMethod, numLayers: number, seed: number): number[] {
  return method === 'last' ? depthScores(numLayers) : randomScores(numLayers, seed);
}

/**
 * Indices of the B highest scores, returned in layer order. Ties go to the earlier layer.
 * B is clamped to [0, scores.length]. The one top-B rule of the code base (client-only
 * selection, Table 1; the f3ocus comparison; the solver fallback).
 */
export function topB(scores: readonly number[], B: number): number[] {
  if (!Number.isInteger(B) || B < 0) throw new Error(`topB: B must be an integer >= 0, got ${B}`);
  for (let i = 0; i < scores.length; i++)
    if (Number.isNaN(scores[i])) throw new Error(`topB: score ${i} is NaN`);
  return scores
    .map((_, i) => i)
    .sort((a, b) => scores[b] - scores[a] || a - b)
    .slice(0, Math.min(B, scores.length))
    .sort((a, b) => a - b);
}

/**
 * Why named scores do not describe exactly `layers`, or null when they do: equal lengths,
 * every layer scored once, no unknown layer, every score finite.
 */
export function layerScoresProblem(s: LayerScores, layers: readonly string[]): string | null {
  if (!Array.isArray(s.layers) || !Array.isArray(s.scores) || s.layers.length !== s.scores.length)
    return 'scores.layers and scores.scores must have equal length';
  const known = new Set(layers);
  const seen = new Set<string>();
  for (let i = 0; i < s.layers.length; i++) {
    const l = s.layers[i];
    if (seen.has(l)) return `layer "${l}" scored twice`;
    seen.add(l);
    if (!known.has(l)) return `score for unknown layer "${l}"`;
    const v = s.scores[i];
    if (typeof v !== 'number' || !Number.isFinite(v))
      return `score for layer "${l}" is not finite (${v})`;
  }
  const missing = layers.find((l) => !seen.has(l));
  return missing === undefined ? null : `no score for layer "${missing}"`;
}

/**
 * Why a site's LNTK scores cannot be used, or null when they can. LNTK scores are normalised
 * top eigenvalues S_i[l] = lambda_1(l) / sum_k lambda_1(k) (docs/method.md §1,
 * M2): non-negative and not all zero. Baseline scorers may be negative (GraSP) and are only
 * ranked, so this applies to LNTK alone. Finiteness is the protocol schema's job.
 */
export function lntkScoresProblem(s: LayerScores): string | null {
  const bad = s.scores.findIndex((x) => !(x >= 0));
  if (bad >= 0) return `LNTK score of layer ${s.layers[bad]} is ${s.scores[bad]}; must be >= 0`;
  if (!(s.scores.reduce((a, b) => a + b, 0) > 0)) return 'LNTK scores are all zero';
  return null;
}
