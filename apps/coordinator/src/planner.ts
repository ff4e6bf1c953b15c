/**
 * Strategies as the round engine sees them (Flower's "configure" step): which score each
 * site computes, and, from the scores, which layers each site trains this round. The engine
 * owns the loop, deadlines and aggregation; a planner only decides.
 *
 * - f3ocus: the server-side multi-objective selection (method.md §2), solved by
 *   @focus-fl/solvers within `solverMaxMs`, off the event loop (solver-worker.ts).
 * - lntk and the score baselines (method.md §4): each site takes its own top-L_i layers.
 * - random (federated dropout): L_i random layers per site per round, seeded.
 * - last: the last L_i layers.  full: every layer.
 */
import { mulberry32, shuffleInPlace } from '@focus-fl/core/random';
import type { ScoreMethod } from '@focus-fl/core/federated';
import type { FederationConfig, StrategyName } from './config.js';
import { runSolver, type SolverRun } from './solver-run.js';

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
}

export interface Planner {
  readonly name: StrategyName;
  readonly scoreMethod: ScoreMethod;
  plan(input: PlanInput): Promise<Plan>;
}

const SCORE_OF: Record<StrategyName, ScoreMethod> = {
  f3ocus: 'lntk',
  lntk: 'lntk',
  full: 'none',
  random: 'none',
  last: 'none',
  magnitude: 'magnitude',
  fishmask: 'fishmask',
  snip: 'snip',
  grasp: 'grasp',
  gradflow: 'gradflow',
  rgn: 'rgn',
  synflow: 'synflow',
  fedselect: 'fedselect',
  spt: 'spt',
};

/** Indices of the k largest scores, ties broken by the lower index (deterministic). */
export function topK(scores: readonly number[], k: number): number[] {
  return scores
    .map((s, i) => [s, i] as const)
    .sort((a, b) => b[0] - a[0] || a[1] - b[1])
    .slice(0, Math.max(0, k))
    .map(([, i]) => i)
    .sort((a, b) => a - b);
}

/** Row-normalise (the selection problem wants rows summing to 1); a zero row becomes uniform. */
export function normaliseRow(row: readonly number[]): number[] {
  const s = row.reduce((a, b) => a + b, 0);
  return s > 0 ? row.map((x) => x / s) : row.map(() => 1 / row.length);
}

export function createPlanner(
  config: Pick<FederationConfig, 'strategy' | 'algo' | 'seed' | 'solverMaxMs' | 'pick'>,
  run: SolverRun = runSolver,
): Planner {
  const name = config.strategy;
  const scoreMethod = SCORE_OF[name];
  if (!scoreMethod) throw new Error(`strategy: unknown strategy "${name}"`);
  const perSite = (input: PlanInput, pickIdx: (s: PlanInput['sites'][number]) => number[]) => {
    const assignments: Record<string, string[]> = {};
    for (const s of input.sites) assignments[s.site] = pickIdx(s).map((i) => input.layers[i]);
    return { assignments, front: [], selected: null, solverMs: 0 };
  };
  const L = (input: PlanInput) => input.layers.length;
  return {
    name,
    scoreMethod,
    async plan(input) {
      switch (name) {
        case 'full':
          return perSite(input, () => input.layers.map((_, i) => i));
        case 'last':
          return perSite(input, (s) =>
            input.layers.map((_, i) => i).slice(Math.max(0, L(input) - s.budget)),
          );
        case 'random':
          return perSite(input, (s) => {
            const rand = mulberry32(hashSeed(config.seed, input.round, s.site));
            return shuffleInPlace(
              input.layers.map((_, i) => i),
              rand,
            )
              .slice(0, Math.min(s.budget, L(input)))
              .sort((a, b) => a - b);
          });
        case 'f3ocus': {
          const started = Date.now();
          const res = await run(
            {
              scores: input.sites.map((s) => normaliseRow(s.scores)),
              budgets: input.sites.map((s) => Math.min(s.budget, L(input))),
            },
            {
              algo: config.algo,
              seed: hashSeed(config.seed, input.round, 'solver'),
              maxTimeMs: config.solverMaxMs,
              pick: config.pick,
            },
          );
          const chosen = res.front[res.selected];
          const assignments: Record<string, string[]> = {};
          input.sites.forEach((s, i) => {
            assignments[s.site] = input.layers.filter((_, l) => chosen.masks[i][l] === 1);
          });
          return {
            assignments,
            front: res.front.map((p) => ({ importance: p.importance, variance: p.variance })),
            selected: res.selected,
            solverMs: Date.now() - started,
          };
        }
        default:
          // lntk and the baselines: client-only top-L_i of the site's own scores.
          return perSite(input, (s) => topK(s.scores, s.budget));
      }
    },
  };
}

/** A 32-bit seed from the federation seed, the round and a name (FNV-1a). */
export function hashSeed(seed: number, round: number, name: string): number {
  let h = 0x811c9dc5 ^ (seed >>> 0);
  for (const c of `${round}:${name}`) {
    h ^= c.charCodeAt(0);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h >>> 0;
}
