/**
 * Strategies that need no site scores: the server decides alone (Table 1 and 2 of the paper;
 * docs/method.md §4).
 * - full: every adapter layer ("all adapters" in Table 2).
 * - last: the last L_i,max layers (Table 1 "Last").
 * - random: L_i,max layers drawn uniformly per site and round, seeded (Table 1 "FD",
 *   federated dropout; `fd` is accepted as an alias where a stable interface needs it).
 * `last` and `random` apply importance's data-free rules (`dataFreeScores`) with the same
 * top-B as every other scorer.
 */
import { dataFreeScores, topB, type DataFreeMethod } from '../../importance/methods.js';
import { deriveSeed } from '../../random.js';
import type { ScoreMethod } from '../protocol.js';
import {
  effectiveBudget,
  namesOf,
  selectionStats,
  type RoundContext,
  type RoundPlan,
} from '../strategy.js';
import { BaseStrategy } from './base.js';

export class FullStrategy extends BaseStrategy {
  readonly name = 'full';
  readonly scoreMethod: ScoreMethod = 'none';

  protected decide(ctx: RoundContext): RoundPlan {
    // Budgets are ignored on purpose: this is the all-adapters reference point.
    const assignments = Object.fromEntries(ctx.clients.map((c) => [c.name, [...ctx.layers]]));
    return { assignments, info: { ...selectionStats(assignments, ctx.layers) } };
  }
}

/**
 * `last` or `random`: each site trains the top L_i,max layers of the rule's scores, computed
 * on the server (the random draw is seeded per round and site).
 */
export class DataFreeStrategy extends BaseStrategy {
  readonly scoreMethod: ScoreMethod = 'none';

  constructor(readonly name: DataFreeMethod) {
    super();
  }

  protected decide(ctx: RoundContext): RoundPlan {
    const L = ctx.layers.length;
    const assignments = Object.fromEntries(
      ctx.clients.map((c) => {
        const scores = dataFreeScores(this.name, L, deriveSeed(ctx.seed, ctx.round, c.name));
        return [c.name, namesOf(ctx.layers, topB(scores, effectiveBudget(c, L)))];
      }),
    );
    return { assignments, info: { ...selectionStats(assignments, ctx.layers) } };
  }
}
