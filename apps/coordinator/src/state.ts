/**
 * The dashboard JSON (docs/interfaces.md, "Coordinator HTTP"), served at GET /api/state and
 * pushed over the read-only ws /api/live on every change. Its schema and types live in
 * dashboard-state.ts (the dashboard page imports them).
 */
import { siteBudget } from './config.js';
import type { DashboardState } from './dashboard-state.js';
import type { RoundEngine } from './engine.js';
import type { Store } from './store.js';

export type { DashboardState, RoundSummary, SiteState } from './dashboard-state.js';

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
      stepMs: engine.siteCosts.get(s.name)?.stepMs ?? null,
      memoryBytes: engine.siteCosts.get(s.name)?.memoryBytes ?? null,
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
