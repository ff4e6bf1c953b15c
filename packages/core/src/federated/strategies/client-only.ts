/**
 * Client-only selection (Table 1 of the paper; docs/method.md §4): each site scores
 * its layers with one method and trains its own top-L_i,max; the server only relays. `lntk` is
 * the paper's "LNTK (client)" row — F3OCUS without the server step — and the baseline scorers
 * (magnitude, fishmask, snip, grasp, gradflow, rgn, synflow, fedselect, spt) differ only in the
 * scores the sites send. The method list is importance's `SITE_SCORED_METHODS`.
 */
import { SITE_SCORED_METHODS, topB, type SiteScoredMethod } from '../../importance/methods.js';
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

/** The strategies named after the site-side scorer they use. */
export const CLIENT_SCORED = SITE_SCORED_METHODS;
export type ClientScoredMethod = SiteScoredMethod;

export class ClientTopBStrategy extends BaseStrategy {
  readonly name: ClientScoredMethod;
  readonly scoreMethod: ScoreMethod;

  constructor(method: ClientScoredMethod) {
    super();
    this.name = method;
    this.scoreMethod = method;
  }

  protected decide(ctx: RoundContext): RoundPlan {
    const assignments: Record<string, string[]> = {};
    let importance = 0;
    for (const c of ctx.clients) {
      const s = alignedScores(c, ctx.layers, this.scoreMethod);
      const idx = topB(s, effectiveBudget(c, ctx.layers.length));
      assignments[c.name] = namesOf(ctx.layers, idx);
      if (this.name === 'lntk') importance += idx.reduce((a, i) => a + s[i], 0);
    }
    const info: Record<string, unknown> = { ...selectionStats(assignments, ctx.layers) };
    // I(m) is defined on LNTK scores (docs/method.md §2, M3); other scorers' units are not comparable.
    if (this.name === 'lntk') info.importance = importance;
    return { assignments, info };
  }
}
