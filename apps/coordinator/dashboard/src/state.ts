// The dashboard JSON (docs/interfaces.md "Coordinator HTTP"), as sent by GET /api/state and
// pushed on ws /api/live. Parsed defensively: the page must show what it can and name the
// field that is wrong rather than fail blank.

export interface SiteView {
  name: string;
  status: string;
  backend: string | null;
  budget: number;
  connected: boolean;
  stepMs: number | null;
  memoryBytes: number | null;
}

export interface FrontPoint {
  importance: number;
  variance: number;
}

export interface RoundView {
  round: number;
  accuracy: number | null;
  loss: number | null;
  perClient: Record<string, number>;
  bytesUp: number;
  bytesDown: number;
  selection: Record<string, string[]>;
  front: FrontPoint[];
  selected: number | null;
}

export interface DashboardState {
  layers: string[];
  round: number;
  phase: string;
  totalRounds: number;
  strategy: string;
  sites: SiteView[];
  rounds: RoundView[];
}

type Obj = Record<string, unknown>;

function isObj(v: unknown): v is Obj {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function num(v: unknown, field: string): number {
  if (typeof v !== 'number' || !Number.isFinite(v)) throw new Error(`${field}: expected a number`);
  return v;
}

function optNum(v: unknown): number | null {
  return typeof v === 'number' && Number.isFinite(v) ? v : null;
}

function str(v: unknown, field: string): string {
  if (typeof v !== 'string') throw new Error(`${field}: expected a string`);
  return v;
}

function arr(v: unknown, field: string): unknown[] {
  if (!Array.isArray(v)) throw new Error(`${field}: expected an array`);
  return v;
}

function numRecord(v: unknown, field: string): Record<string, number> {
  if (v === undefined || v === null) return {};
  if (!isObj(v)) throw new Error(`${field}: expected an object`);
  const out: Record<string, number> = {};
  for (const [k, x] of Object.entries(v)) {
    const n = optNum(x);
    if (n !== null) out[k] = n;
  }
  return out;
}

/** Validates the coordinator's dashboard JSON; throws an Error naming the first bad field. */
export function parseState(raw: unknown): DashboardState {
  if (!isObj(raw)) throw new Error('state: expected an object');
  const layers = arr(raw.layers, 'layers').map((l, i) => str(l, `layers[${i}]`));
  const sites = arr(raw.sites ?? [], 'sites').map((s, i): SiteView => {
    if (!isObj(s)) throw new Error(`sites[${i}]: expected an object`);
    return {
      name: str(s.name, `sites[${i}].name`),
      status: typeof s.status === 'string' ? s.status : 'unknown',
      backend: typeof s.backend === 'string' ? s.backend : null,
      budget: optNum(s.budget) ?? 0,
      connected: s.connected === true,
      stepMs: optNum(s.stepMs),
      memoryBytes: optNum(s.memoryBytes),
    };
  });
  const rounds = arr(raw.rounds ?? [], 'rounds').map((r, i): RoundView => {
    if (!isObj(r)) throw new Error(`rounds[${i}]: expected an object`);
    const selection: Record<string, string[]> = {};
    if (isObj(r.selection)) {
      for (const [site, ls] of Object.entries(r.selection)) {
        selection[site] = arr(ls, `rounds[${i}].selection.${site}`).map((l) => String(l));
      }
    }
    const front = arr(r.front ?? [], `rounds[${i}].front`).map((p, j): FrontPoint => {
      if (!isObj(p)) throw new Error(`rounds[${i}].front[${j}]: expected an object`);
      return {
        importance: num(p.importance, `rounds[${i}].front[${j}].importance`),
        variance: num(p.variance, `rounds[${i}].front[${j}].variance`),
      };
    });
    return {
      round: num(r.round, `rounds[${i}].round`),
      accuracy: optNum(r.accuracy),
      loss: optNum(r.loss),
      perClient: numRecord(r.perClient, `rounds[${i}].perClient`),
      bytesUp: optNum(r.bytesUp) ?? 0,
      bytesDown: optNum(r.bytesDown) ?? 0,
      selection,
      front,
      selected: optNum(r.selected),
    };
  });
  rounds.sort((a, b) => a.round - b.round);
  return {
    layers,
    round: optNum(raw.round) ?? 0,
    phase: typeof raw.phase === 'string' ? raw.phase : 'unknown',
    totalRounds: optNum(raw.totalRounds) ?? 0,
    strategy: typeof raw.strategy === 'string' ? raw.strategy : 'unknown',
    sites,
    rounds,
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
