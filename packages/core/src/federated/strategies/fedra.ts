/**
 * FedRA (Su et al., "FedRA: A Random Allocation Strategy for Federated Tuning to Unleash the
 * Power of Heterogeneous Clients", ECCV 2024): every round the server draws a fresh random
 * allocation matrix A (clients x layers, row i holds L_i,max ones) and each client tunes only
 * its allocated layers; the server averages each layer over the clients that tuned it.
 *
 * Beyond federated dropout (`fd`: independent draws per client), the draw here covers every
 * layer whenever the round's budgets allow it (sum_i L_i,max >= L): layers no client holds are
 * dealt first, so no layer goes a round untrained — the coverage step of the allocation.
 *
 * Difference from the paper, stated plainly: FedRA's clients run a depth-reduced sub-model
 * (the non-allocated blocks are skipped in the forward pass, which is how it saves client
 * compute). Here the client keeps the frozen full-depth model and trains the allocated
 * adapters inside it; only the allocation rule and the per-layer masked averaging are FedRA's.
 */
import { deriveSeed, mulberry32 } from '../../random.js';
import type { ScoreMethod } from '../protocol.js';
import { effectiveBudget, selectionStats, type RoundContext, type RoundPlan } from '../strategy.js';
import { BaseStrategy } from './base.js';

/**
 * A random allocation matrix as per-client sorted layer indices: client i gets budgets[i]
 * distinct layers; while some layer is uncovered, a client's picks come from the uncovered
 * layers first (in a random client order), so all `numLayers` are covered when the budgets
 * sum to at least `numLayers`.
 */
export function randomAllocation(
  budgets: readonly number[],
  numLayers: number,
  seed: number,
): number[][] {
  const rand = mulberry32(seed);
  const shuffled = (xs: number[]): number[] => {
    for (let i = xs.length - 1; i > 0; i--) {
      const j = Math.floor(rand() * (i + 1));
      [xs[i], xs[j]] = [xs[j], xs[i]];
    }
    return xs;
  };
  const covered = new Array<boolean>(numLayers).fill(false);
  const rows: number[][] = budgets.map(() => []);
  for (const i of shuffled(budgets.map((_, k) => k))) {
    const b = Math.max(0, Math.min(budgets[i], numLayers));
    const all = Array.from({ length: numLayers }, (_, l) => l);
    const uncovered = shuffled(all.filter((l) => !covered[l]));
    const rest = shuffled(all.filter((l) => covered[l]));
    const pick = [...uncovered, ...rest].slice(0, b);
    for (const l of pick) covered[l] = true;
    rows[i] = pick.sort((a, c) => a - c);
  }
  return rows;
}

export class FedRaStrategy extends BaseStrategy {
  readonly name = 'fedra';
  readonly scoreMethod: ScoreMethod = 'none';

  protected decide(ctx: RoundContext): RoundPlan {
    const L = ctx.layers.length;
    // Clients in name order so the matrix does not depend on arrival order.
    const clients = [...ctx.clients].sort((a, b) => (a.name < b.name ? -1 : 1));
    const rows = randomAllocation(
      clients.map((c) => effectiveBudget(c, L)),
      L,
      deriveSeed(ctx.seed, ctx.round, 'fedra'),
    );
    const assignments = Object.fromEntries(
      clients.map((c, i) => [c.name, rows[i].map((l) => ctx.layers[l])]),
    );
    return { assignments, info: { ...selectionStats(assignments, ctx.layers) } };
  }
}
