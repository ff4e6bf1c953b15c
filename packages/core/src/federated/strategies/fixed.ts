/**
 * Strategies that need no client scores: the server decides alone (method.md §4).
 * - full: every adapter layer ("all adapters" in Table 2).
 * - last: the last L_i,max layers (Table 1 "Last").
 * - random / fd: L_i,max layers drawn uniformly per client and round, seeded (Table 1 "FD",
 *   federated dropout). The two names are the same rule; `fd` is the paper's row name.
 */
import type { ScoreMethod } from '../protocol.js';
import {
  deriveSeed,
  effectiveBudget,
  randomSubset,
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

export class LastStrategy extends BaseStrategy {
  readonly name = 'last';
  readonly scoreMethod: ScoreMethod = 'none';

  protected decide(ctx: RoundContext): RoundPlan {
    const L = ctx.layers.length;
    const assignments = Object.fromEntries(
      ctx.clients.map((c) => [c.name, ctx.layers.slice(L - effectiveBudget(c, L))]),
    );
    return { assignments, info: { ...selectionStats(assignments, ctx.layers) } };
  }
}

export class RandomStrategy extends BaseStrategy {
  readonly scoreMethod: ScoreMethod = 'none';

  constructor(readonly name: 'random' | 'fd' = 'random') {
    super();
  }

  protected decide(ctx: RoundContext): RoundPlan {
    const L = ctx.layers.length;
    const assignments = Object.fromEntries(
      ctx.clients.map((c) => {
        const idx = randomSubset(L, effectiveBudget(c, L), deriveSeed(ctx.seed, ctx.round, c.name));
        return [c.name, idx.map((i) => ctx.layers[i])];
      }),
    );
    return { assignments, info: { ...selectionStats(assignments, ctx.layers) } };
  }
}
