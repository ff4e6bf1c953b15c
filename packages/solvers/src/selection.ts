import type { StopReason } from './algorithm.js';
import type { AlgorithmName } from './solve.js';
import { solve } from './solve.js';
import { LayerSelectionProblem } from './layer-selection.js';
import { DEFAULT_PICK_RULE, pick, type PickRule } from './pickers.js';
import type { SelectionInput } from './selection-input.js';

/** One front point in the CLI / coordinator form. */
export interface SelectionFrontPoint {
  masks: number[][];
  importance: number;
  variance: number;
}

/** The stable result shape of `pnpm solve --json` (packages/solvers/README.md). */
export interface SelectionResult {
  algorithm: AlgorithmName;
  front: SelectionFrontPoint[];
  selected: number;
  evaluations: number;
  elapsedMs: number;
  /**
   * Why the search ended (`cap`: the wall-time safety cap cut it, so the result may depend on
   * the machine). Not part of the CLI's JSON.
   */
  stoppedBy?: StopReason | null;
}

/**
 * Validate, solve and pick: the whole server step for one round. The front is ordered by
 * descending importance; `selected` indexes it (rule `pick`, default knee).
 */
export function solveSelection(
  input: SelectionInput | unknown,
  opts: {
    algo?: AlgorithmName;
    seed?: number;
    maxEvaluations?: number;
    maxTimeMs?: number;
    stallEvaluations?: number;
    timeCapMs?: number;
    pick?: PickRule;
  } = {},
): SelectionResult {
  const problem = new LayerSelectionProblem(input);
  const algo = opts.algo ?? 'nsga2';
  const res = solve(problem, {
    algo,
    seed: opts.seed ?? 1,
    maxEvaluations: opts.maxEvaluations,
    maxTimeMs: opts.maxTimeMs,
    stallEvaluations: opts.stallEvaluations,
    timeCapMs: opts.timeCapMs,
  });
  const front = res.front.map((s) => ({
    masks: problem.toMasks(s.x),
    importance: -s.f[0],
    variance: s.f[1],
  }));
  front.sort((a, b) => b.importance - a.importance || a.variance - b.variance);
  const selected = pick(
    front.map((p) => [-p.importance, p.variance]),
    opts.pick ?? DEFAULT_PICK_RULE,
  );
  return {
    algorithm: algo,
    front,
    selected,
    evaluations: res.evaluations,
    elapsedMs: res.elapsedMs,
    stoppedBy: res.stoppedBy,
  };
}
