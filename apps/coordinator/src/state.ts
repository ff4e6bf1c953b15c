/**
 * The dashboard JSON (docs/interfaces.md, "Coordinator HTTP"), served at GET /api/state and
 * pushed over the read-only ws /api/live on every change. These types are the contract: the
 * dashboard imports them.
 */
import { siteBudget } from './config.js';
import type { EnginePhase, RoundEngine } from './engine.js';
import type { RoundRow, Store } from './store.js';

export interface SiteState {
  name: string;
  status: string;
  backend: string | null;
  budget: number;
  connected: boolean;
}

export interface RoundSummary {
  round: number;
  status: RoundRow['status'];
  accuracy: number | null;
  loss: number | null;
  perClient: Record<string, number>;
  bytesUp: number;
  bytesDown: number;
  selection: Record<string, string[]>;
  front: { importance: number; variance: number }[];
  selected: number | null;
  /** Why the last aborted attempt of this round failed (null: never aborted). */
  reason: string | null;
  aborts: number;
}

export interface DashboardState {
  layers: string[];
  round: number;
  phase: EnginePhase;
  totalRounds: number;
  strategy: string;
  /** Set while the federation is paused after too many aborted rounds in a row. */
  pausedReason: string | null;
  sites: SiteState[];
  rounds: RoundSummary[];
}

export function dashboardState(
  engine: RoundEngine,
  store: Store,
  strategy: string,
): DashboardState {
  const sites = store.listSites().map((s) => {
    const live = engine.sessions.get(s.name);
    return {
      name: s.name,
      status: live ? engine.siteStatus(s.name) : 'offline',
      backend: live?.backend ?? s.backend,
      budget: siteBudget(engine.cfg, s),
      connected: Boolean(live),
    };
  });
  return {
    layers: engine.layers,
    round: engine.round,
    phase: engine.phase,
    totalRounds: engine.cfg.rounds,
    strategy,
    pausedReason: engine.pausedReason,
    sites,
    rounds: store.rounds().map((r) => ({
      round: r.round,
      status: r.status,
      accuracy: r.accuracy,
      loss: r.loss,
      perClient: r.perClient,
      bytesUp: r.bytesUp,
      bytesDown: r.bytesDown,
      selection: r.selection,
      front: r.front,
      selected: r.selected,
      reason: r.reason,
      aborts: r.aborts,
    })),
  };
}
