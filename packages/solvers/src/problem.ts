import type { Rng } from './rng.js';

/**
 * A multi-objective problem in minimisation form (pymoo's `Problem`): every algorithm works on
 * any `Problem`, so the layer-selection problem and the ZDT test problems share one code path.
 *
 * Decision vectors are plain `number[]`: 0/1 entries for `kind: 'binary'`, reals within
 * [lower, upper] for `kind: 'real'`.
 */
export interface Problem {
  readonly name: string;
  readonly kind: 'binary' | 'real';
  readonly nVar: number;
  readonly nObj: number;
  /** Box bounds, required for real problems (length nVar). */
  readonly lower?: readonly number[];
  readonly upper?: readonly number[];
  /** Objective values of a feasible x, all minimised. */
  evaluate(x: readonly number[]): number[];
  /** A random feasible decision vector. */
  sample(rng: Rng): number[];
  /** Map any vector to a feasible one (in place allowed; returns it). Identity if absent. */
  repair?(x: number[], rng: Rng): number[];
  /** Feasibility check used by tests and the CLI. */
  isFeasible?(x: readonly number[]): boolean;
  /**
   * Problem-aware seeds for the initial population (e.g. greedy and spread-out masks). The
   * algorithms put these first and fill the rest with `sample`.
   */
  seeds?(rng: Rng): number[][];
  /**
   * A small feasible move from x (local search, SA neighbourhood, turbulence). Algorithms fall
   * back to generic bit-flip / polynomial mutation when a problem does not provide one.
   */
  neighbor?(x: readonly number[], rng: Rng): number[];
  /**
   * Optional exact improvement of a feasible x that keeps its other objectives (for layer
   * selection: best importance at the same layer counts, hence the same variance). Returns null
   * when there is nothing to do; `seen` lets the caller skip inputs it already improved.
   * `shouldStop` (polled during long work) aborts it: null, and x is not marked as seen.
   */
  improve?(x: readonly number[], seen: Set<string>, shouldStop?: () => boolean): number[] | null;
  /** Grouped structure for constructive algorithms (ACO); see `GroupedBinary`. */
  readonly grouped?: GroupedBinary;
}

/**
 * Binary problems whose variables form groups (clients) each choosing at most `budgets[g]` of
 * `groupSize` items (layers), flattened group-major: x[g * groupSize + item].
 */
export interface GroupedBinary {
  readonly groups: number;
  readonly groupSize: number;
  readonly budgets: readonly number[];
  /** Heuristic desirability of item j for group g (ACO's eta); non-negative. */
  heuristic(g: number, item: number): number;
}

/** One evaluated solution. */
export interface Solution {
  x: number[];
  f: number[];
}

/** Clip a real vector into the problem's box (the repair for real problems). */
export function clipToBounds(problem: Problem, x: number[]): number[] {
  const lo = problem.lower;
  const hi = problem.upper;
  if (!lo || !hi) return x;
  for (let j = 0; j < x.length; j++) {
    if (x[j] < lo[j]) x[j] = lo[j];
    else if (x[j] > hi[j]) x[j] = hi[j];
  }
  return x;
}

/** Apply the problem's repair (binary) or box clipping (real). */
export function repairOf(problem: Problem, x: number[], rng: Rng): number[] {
  if (problem.kind === 'real') clipToBounds(problem, x);
  return problem.repair ? problem.repair(x, rng) : x;
}
