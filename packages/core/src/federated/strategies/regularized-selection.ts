/**
 * Selective layer fine-tuning with gradient-based selection regulated across clients (Sun et
 * al., "Exploring Selective Layer Fine-Tuning in Federated Learning", arXiv 2408.15600).
 * Each client scores its layers by the squared norms of its local mini-batch gradients (the
 * `spt` scores: squared gradients summed over mini-batches, the paper's gradient-norm metric);
 * the server then chooses binary m[i][l] to
 *
 *   max  sum_i sum_l m[i][l] s_i[l]  -  lambda * sum_l sum_{i1<i2} (m[i1][l] - m[i2][l])^2
 *   s.t. sum_l m[i][l] = L_i,max
 *
 * The regulariser pulls clients towards the same layers (sum_{i1<i2}(.)^2 = n_l (N - n_l) with
 * n_l the number of clients on layer l) — the opposite pull of F3OCUS's variance objective.
 * The reference code solves the integer program with ECOS_BB; here it is solved by best-
 * response local search from each client's top-B: client i's marginal value of layer l given
 * the others is s_i[l] - lambda (N - 1 - 2 n_l^{-i}), so its best response is the top-B by
 * that value. Each change strictly increases the objective (an exact potential), so the search
 * ends at a local optimum; it is capped at 100 sweeps.
 *
 * Scores are scaled per client to max 1 (gradient norms differ in scale across clients) and
 * lambda defaults to 0.5 / (N - 1), so the regulariser can move a layer's value by at most half
 * the score range. The reference code's `balance` default is 0 (plain top-B).
 */
import { topB } from '../../importance/methods.js';
import type { ScoreMethod } from '../protocol.js';
import {
  alignedScores,
  effectiveBudget,
  namesOf,
  selectionStats,
  type RoundContext,
  type RoundPlan,
} from '../strategy.js';
import { BaseStrategy } from './base.js';

export interface RegularizedSelectionOptions {
  /** Weight of the cross-client agreement penalty on max-scaled scores (default 0.5 / (N-1)). */
  lambda?: number;
}

/** Objective value of a selection (per-client index sets) for scores s and weight lambda. */
export function regularizedObjective(
  scores: readonly (readonly number[])[],
  selection: readonly (readonly number[])[],
  lambda: number,
): number {
  const N = scores.length;
  const L = scores[0]?.length ?? 0;
  const counts = new Array<number>(L).fill(0);
  let value = 0;
  selection.forEach((idx, i) => {
    for (const l of idx) {
      value += scores[i][l];
      counts[l]++;
    }
  });
  for (const n of counts) value -= lambda * n * (N - n);
  return value;
}

/** Best-response local search (see the module comment); returns sorted indices per client. */
export function regularizedSelection(
  scores: readonly (readonly number[])[],
  budgets: readonly number[],
  lambda: number,
  maxSweeps = 100,
): number[][] {
  if (!(lambda >= 0)) throw new Error(`lambda must be >= 0, got ${lambda}`);
  const N = scores.length;
  const L = scores[0]?.length ?? 0;
  const sel = scores.map((s, i) => topB(s, budgets[i]));
  const counts = new Array<number>(L).fill(0);
  for (const idx of sel) for (const l of idx) counts[l]++;
  for (let sweep = 0; sweep < maxSweeps; sweep++) {
    let changed = false;
    for (let i = 0; i < N; i++) {
      for (const l of sel[i]) counts[l]--;
      const value = scores[i].map((s, l) => s - lambda * (N - 1 - 2 * counts[l]));
      const best = topB(value, budgets[i]);
      const gain =
        best.reduce((a, l) => a + value[l], 0) - sel[i].reduce((a, l) => a + value[l], 0);
      // Move only on a strict gain (ties keep the current choice, so the search terminates).
      if (gain > 1e-12) {
        sel[i] = best;
        changed = true;
      }
      for (const l of sel[i]) counts[l]++;
    }
    if (!changed) break;
  }
  return sel;
}

export class RegularizedSelectionStrategy extends BaseStrategy {
  readonly name = 'sun';
  readonly scoreMethod: ScoreMethod = 'spt';

  constructor(private readonly opts: RegularizedSelectionOptions = {}) {
    super();
  }

  protected decide(ctx: RoundContext): RoundPlan {
    const L = ctx.layers.length;
    const N = ctx.clients.length;
    const scaled = ctx.clients.map((c) => {
      const s = alignedScores(c, ctx.layers, this.scoreMethod);
      const max = Math.max(...s.map(Math.abs));
      return max > 0 ? s.map((x) => x / max) : s.map(() => 0);
    });
    const lambda = this.opts.lambda ?? (N > 1 ? 0.5 / (N - 1) : 0);
    const budgets = ctx.clients.map((c) => effectiveBudget(c, L));
    const sel = regularizedSelection(scaled, budgets, lambda);
    const assignments = Object.fromEntries(
      ctx.clients.map((c, i) => [c.name, namesOf(ctx.layers, sel[i])]),
    );
    return {
      assignments,
      info: {
        ...selectionStats(assignments, ctx.layers),
        lambda,
        objective: regularizedObjective(scaled, sel, lambda),
      },
    };
  }
}
