// The dashboard JSON as sent by GET /api/state and pushed on ws /api/live. Its schema and
// types are the coordinator's own (src/dashboard-state.ts): the page checks what arrives
// against the same schema the server answers with, and names the first field that is wrong.
import { Compile } from 'typebox/compile';
import {
  DashboardStateSchema,
  type DashboardState,
  type RoundSummary,
} from '../../src/dashboard-state.js';

export type {
  DashboardState,
  FrontPoint,
  RoundSummary,
  SiteState,
} from '../../src/dashboard-state.js';

const check = Compile(DashboardStateSchema);

/** What the page draws: the completed rounds in order, and the aborted attempts apart. */
export interface DashboardView extends DashboardState {
  aborted: RoundSummary[];
}

/** Validates the coordinator's dashboard JSON; throws an Error naming the first bad field. */
export function parseState(raw: unknown): DashboardView {
  if (!check.Check(raw)) {
    const e = [...check.Errors(raw)][0];
    throw new Error(`${e?.instancePath || 'state'}: ${e?.message ?? 'invalid'}`);
  }
  const state = raw as DashboardState;
  const sorted = [...state.rounds].sort((a, b) => a.round - b.round);
  return {
    ...state,
    rounds: sorted.filter((r) => r.status === 'completed'),
    aborted: sorted.filter((r) => r.status === 'aborted'),
  };
}

/**
 * Selection counts for the heat map: counts[l][r] = number of sites that trained layer l in
 * rounds[r] (paper Fig. 5 shows the same layers x rounds picture per client).
 */
export function selectionCounts(state: DashboardState): number[][] {
  const index = new Map(state.layers.map((l, i) => [l, i]));
  const counts = state.layers.map(() => state.rounds.map(() => 0));
  state.rounds.forEach((r, j) => {
    for (const layers of Object.values(r.selection)) {
      for (const l of layers) {
        const i = index.get(l);
        if (i !== undefined) counts[i][j] += 1;
      }
    }
  });
  return counts;
}
