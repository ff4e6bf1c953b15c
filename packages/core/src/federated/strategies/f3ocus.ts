/**
 * F3OCUS (docs/method.md §1-2): clients send their normalised LNTK scores S_i; the server solves
 *
 *   max I(m) = sum_i sum_l m[i][l] S_i[l]     min V(m) = (1/L) sum_l (n_l - mean n)^2
 *   s.t. sum_l m[i][l] <= L_i,max
 *
 * with one of the five meta-heuristics of @focus-fl/solvers and picks one point of the Pareto
 * front by a named rule (default knee). The front and the picked point are returned for the
 * dashboard; the client-only (top-B) selection is reported beside it for comparison.
 */
import {
  ALGORITHMS,
  DEFAULT_PICK_RULE,
  PICK_RULES,
  isAlgorithmName,
  solveSelection,
  type AlgorithmName,
  type PickRule,
  type SelectionResult,
} from '@focus-fl/solvers';
import { lntkScoresProblem, topB } from '../../importance/methods.js';
import { deriveSeed } from '../../random.js';
import type { ScoreMethod } from '../protocol.js';
import {
  alignedScores,
  effectiveBudget,
  selectionStats,
  type RoundContext,
  type RoundPlan,
} from '../strategy.js';
import { BaseStrategy } from './base.js';

export interface F3ocusOptions {
  /** Meta-heuristic (default nsga2). */
  algo?: AlgorithmName;
  /** Evaluation budget of the solver; with neither budget, the solvers' default (20,000). */
  maxEvaluations?: number;
  /** Wall-time budget of the solver in ms (makes the result timing-dependent). */
  maxTimeMs?: number;
  /** Early stop: evaluations in a row without a new archive point (packages/solvers). */
  stallEvaluations?: number;
  /** Wall-time safety cap in ms: bounds the search without steering it (packages/solvers). */
  timeCapMs?: number;
  /** Rule that picks one front point (default knee). */
  pick?: PickRule;
  /**
   * Runs the selection solver; default `solveSelection` in this thread. The coordinator can
   * pass one that runs it in a worker thread (same input and options, same result).
   */
  solver?: SelectionSolver;
}

export interface SelectionSolverOptions {
  algo: AlgorithmName;
  seed: number;
  maxEvaluations?: number;
  maxTimeMs?: number;
  stallEvaluations?: number;
  timeCapMs?: number;
  pick: PickRule;
}

export type SelectionSolver = (
  input: { scores: number[][]; budgets: number[] },
  opts: SelectionSolverOptions,
) => SelectionResult | Promise<SelectionResult>;

export class F3ocusStrategy extends BaseStrategy {
  readonly name = 'f3ocus';
  readonly scoreMethod: ScoreMethod = 'lntk';
  readonly algo: AlgorithmName;
  readonly pick: PickRule;

  constructor(readonly opts: F3ocusOptions = {}) {
    super();
    const algo = opts.algo ?? 'nsga2';
    if (!isAlgorithmName(algo)) {
      throw new Error(`f3ocus: unknown algo "${String(algo)}"; valid: ${ALGORITHMS.join(', ')}`);
    }
    const pick = opts.pick ?? DEFAULT_PICK_RULE;
    if (!PICK_RULES.includes(pick)) {
      throw new Error(
        `f3ocus: unknown pick rule "${String(pick)}"; valid: ${PICK_RULES.join(', ')}`,
      );
    }
    for (const k of ['maxEvaluations', 'maxTimeMs', 'stallEvaluations', 'timeCapMs'] as const) {
      const v = opts[k];
      if (v !== undefined && !(typeof v === 'number' && v > 0)) {
        throw new Error(`f3ocus: ${k} must be a positive number, got ${v}`);
      }
    }
    this.algo = algo;
    this.pick = pick;
  }

  protected async decide(ctx: RoundContext): Promise<RoundPlan> {
    const L = ctx.layers.length;
    const assignments: Record<string, string[]> = {};
    // Clients with budget 0 train only the head and are left out of the problem (the solver
    // needs budgets in 1..L).
    const active = ctx.clients.filter((c) => effectiveBudget(c, L) > 0);
    for (const c of ctx.clients) assignments[c.name] = [];
    if (active.length === 0)
      return { assignments, front: [], selected: -1, info: { algo: this.algo } };

    // The solver's edge: the one place where named scores become a clients x layers matrix.
    const scores = active.map((c) =>
      normalisedLntk(c.name, ctx.layers, alignedScores(c, ctx.layers, 'lntk')),
    );
    const budgets = active.map((c) => effectiveBudget(c, L));
    const solver: SelectionSolver = this.opts.solver ?? ((input, o) => solveSelection(input, o));
    const res = await solver(
      { scores, budgets },
      {
        algo: this.algo,
        seed: deriveSeed(ctx.seed, ctx.round, 'f3ocus'),
        maxEvaluations: this.opts.maxEvaluations,
        maxTimeMs: this.opts.maxTimeMs,
        stallEvaluations: this.opts.stallEvaluations,
        timeCapMs: this.opts.timeCapMs,
        pick: this.pick,
      },
    );
    const chosen = res.front[res.selected];
    if (!chosen) throw new Error(`f3ocus: solver ${this.algo} returned no selectable front point`);
    active.forEach((c, i) => {
      assignments[c.name] = ctx.layers.filter((_, l) => chosen.masks[i][l] === 1);
    });

    // The client-only choice on the same scores, for the dashboard and the report.
    const clientOnly: Record<string, string[]> = {};
    let clientOnlyImportance = 0;
    active.forEach((c, i) => {
      const idx = topB(scores[i], budgets[i]);
      clientOnly[c.name] = idx.map((l) => ctx.layers[l]);
      clientOnlyImportance += idx.reduce((a, l) => a + scores[i][l], 0);
    });

    return {
      assignments,
      front: res.front.map((p) => ({ importance: p.importance, variance: p.variance })),
      selected: res.selected,
      info: {
        algo: this.algo,
        pick: this.pick,
        evaluations: res.evaluations,
        elapsedMs: res.elapsedMs,
        ...(res.stoppedBy ? { stoppedBy: res.stoppedBy } : {}),
        importance: chosen.importance,
        ...selectionStats(assignments, ctx.layers),
        clientOnly: {
          importance: clientOnlyImportance,
          variance: selectionStats(clientOnly, ctx.layers).variance,
        },
      },
    };
  }
}

/**
 * S_i[l] = lambda_1(l) / sum_k lambda_1(k) (docs/method.md §1). Sites send it
 * normalised; we renormalise to absorb float drift (the solver checks rows sum to 1 within
 * 1e-6). The validity rule is importance's `lntkScoresProblem`, the same one the coordinator
 * applies where scores enter.
 */
function normalisedLntk(client: string, layers: string[], s: number[]): number[] {
  const problem = lntkScoresProblem({ layers, scores: s });
  if (problem) throw new Error(`client "${client}": ${problem}`);
  const sum = s.reduce((a, b) => a + b, 0);
  return s.map((v) => v / sum);
}
