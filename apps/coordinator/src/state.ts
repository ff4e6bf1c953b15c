/**
 * The dashboard JSON (docs/interfaces.md, "Coordinator HTTP"), served at GET /api/state and
 * pushed over the read-only ws /api/live on every change.
 */
import type { RoundEngine, RoundSummary } from './engine.js';
import type { Store } from './store.js';

export interface DashboardState {
  layers: string[];
  round: number;
  phase: string;
  totalRounds: number;
  strategy: string;
  sites: {
    name: string;
    status: string;
    backend: string | null;
    budget: number;
    connected: boolean;
  }[];
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
      budget: engine.cfg.budgets[s.name] ?? s.budget,
      connected: Boolean(live),
    };
  });
  return {
    layers: engine.layers,
    round: engine.round,
    phase: engine.phase,
    totalRounds: engine.cfg.rounds,
    strategy,
    sites,
    rounds: store.rounds().map((r) => ({
      round: r.round,
      accuracy: r.accuracy,
      loss: r.loss,
      perClient: r.perClient,
      bytesUp: r.bytesUp,
      bytesDown: r.bytesDown,
      selection: r.selection,
      front: r.front,
      selected: r.selected,
    })),
  };
}
