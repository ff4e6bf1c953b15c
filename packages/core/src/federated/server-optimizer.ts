/**
 * Server optimisers on the aggregated per-layer delta (Reddi et al., "Adaptive Federated
 * Optimization", ICLR 2021, Algorithm 2; FedAvgM: Hsu et al. 2019).
 *
 * The masked, sample-weighted aggregation (aggregate.ts) gives, for every layer l trained this
 * round, the mean client delta Δ[l] = aggregated[l] - global[l]. FedAvg applies it as is. A
 * server optimiser treats Δ as a pseudo-gradient (a descent direction) and steps:
 *
 *   fedavg    x += η Δ                                  (η = 1: plain FedAvg)
 *   fedavgm   v = β1 v + Δ;              x += η v        (server momentum)
 *   fedadagrad m = β1 m + (1-β1) Δ;  v = v + Δ²;                    x += η m / (√v + τ)
 *   fedadam    m = β1 m + (1-β1) Δ;  v = β2 v + (1-β2) Δ²;          x += η m / (√v + τ)
 *   fedyogi    m = β1 m + (1-β1) Δ;  v = v - (1-β2) Δ² sign(v - Δ²); x += η m / (√v + τ)
 *
 * (elementwise; no bias correction, as in Reddi et al.'s Algorithm 2.) The masking rule of the
 * aggregation carries over per layer: a layer nobody trained this round keeps both its value
 * and its optimiser state (it is neither stepped nor decayed), so F3OCUS's partial rounds do
 * not bleed momentum into layers that were not selected.
 */
import { layerOf, type NamedArrays } from '../tensors/named.js';
import type { AggregateResult } from './aggregate.js';

export const SERVER_OPTIMIZERS = ['fedavg', 'fedavgm', 'fedadagrad', 'fedadam', 'fedyogi'] as const;
export type ServerOptimizerName = (typeof SERVER_OPTIMIZERS)[number];

export interface ServerOptimizerConfig {
  name: ServerOptimizerName;
  /** Server learning rate η (default 1 for fedavg/fedavgm, 0.01 for the adaptive ones). */
  lr?: number;
  /** Momentum β1 (default 0.9). */
  beta1?: number;
  /** Second-moment decay β2 (default 0.99; fedadam / fedyogi). */
  beta2?: number;
  /** Adaptivity τ (default 1e-3; fedadagrad / fedadam / fedyogi). */
  tau?: number;
  /** Initial second moment v0 (default τ², as Reddi et al.'s experiments). */
  initialV?: number;
}

/** Per-parameter optimiser state (plain arrays: checkpointable, JSON/msgpack-safe). */
export interface ServerOptimizerState {
  name: ServerOptimizerName;
  /** Rounds in which each layer was stepped. */
  steps: Record<string, number>;
  m: NamedArrays;
  v: NamedArrays;
}

export interface ServerOptimizer {
  readonly config: Required<ServerOptimizerConfig>;
  /**
   * The next global params from the old ones and this round's masked aggregation (whose
   * `params` are old + mean delta on trained layers). Returns fresh arrays; inputs untouched.
   */
  step(global: NamedArrays, aggregated: AggregateResult): NamedArrays;
  state(): ServerOptimizerState;
  /** Restores a state saved by `state()` (e.g. from a checkpoint). */
  load(state: ServerOptimizerState): void;
}

const DEFAULT_LR: Record<ServerOptimizerName, number> = {
  fedavg: 1,
  fedavgm: 1,
  fedadagrad: 0.01,
  fedadam: 0.01,
  fedyogi: 0.01,
};

export function isServerOptimizerName(x: unknown): x is ServerOptimizerName {
  return typeof x === 'string' && (SERVER_OPTIMIZERS as readonly string[]).includes(x);
}

/** Fills the defaults and checks every field; errors name the field and the valid range. */
export function resolveServerOptimizer(c: ServerOptimizerConfig): Required<ServerOptimizerConfig> {
  if (!c || !isServerOptimizerName(c.name)) {
    throw new Error(
      `server optimizer: unknown name "${String(c?.name)}"; valid: ${SERVER_OPTIMIZERS.join(', ')}`,
    );
  }
  const tau = c.tau ?? 1e-3;
  const r = {
    name: c.name,
    lr: c.lr ?? DEFAULT_LR[c.name],
    beta1: c.beta1 ?? 0.9,
    beta2: c.beta2 ?? 0.99,
    tau,
    initialV: c.initialV ?? tau * tau,
  };
  if (!(r.lr > 0 && Number.isFinite(r.lr)))
    throw new Error(`server optimizer: lr must be > 0, got ${r.lr}`);
  if (!(r.beta1 >= 0 && r.beta1 < 1))
    throw new Error(`server optimizer: beta1 must be in [0, 1), got ${r.beta1}`);
  if (!(r.beta2 >= 0 && r.beta2 < 1))
    throw new Error(`server optimizer: beta2 must be in [0, 1), got ${r.beta2}`);
  if (!(r.tau > 0 && Number.isFinite(r.tau)))
    throw new Error(`server optimizer: tau must be > 0, got ${r.tau}`);
  if (!(r.initialV >= 0 && Number.isFinite(r.initialV)))
    throw new Error(`server optimizer: initialV must be >= 0, got ${r.initialV}`);
  return r;
}

export function createServerOptimizer(config: ServerOptimizerConfig): ServerOptimizer {
  const c = resolveServerOptimizer(config);
  let st: ServerOptimizerState = { name: c.name, steps: {}, m: {}, v: {} };

  const stateOf = (store: NamedArrays, name: string, like: Float32Array, init: number) => {
    let s = store[name];
    if (!s) {
      s = { shape: [], data: new Float32Array(like.length).fill(init) };
      store[name] = s;
    }
    return s.data;
  };

  return {
    config: c,
    step(global, aggregated) {
      const out: NamedArrays = {};
      const stepped = new Set<string>();
      for (const [name, g] of Object.entries(global)) {
        const layer = layerOf(name);
        const a = aggregated.params[name];
        if (!a) throw new Error(`server optimizer: aggregated params lack "${name}"`);
        if (a.data.length !== g.data.length) {
          throw new Error(
            `server optimizer: "${name}" has ${a.data.length} values, expected ${g.data.length}`,
          );
        }
        const x = new Float32Array(g.data);
        out[name] = { shape: [...g.shape], data: x };
        // Masking: untrained layers keep their value and state.
        if (!((aggregated.contributors[layer] ?? 0) > 0)) continue;
        stepped.add(layer);
        const gd = g.data;
        const ad = a.data;
        const n = x.length;
        if (c.name === 'fedavg') {
          for (let k = 0; k < n; k++) x[k] = gd[k] + c.lr * (ad[k] - gd[k]);
          continue;
        }
        const m = stateOf(st.m, name, gd, 0);
        st.m[name].shape = [...g.shape];
        if (c.name === 'fedavgm') {
          for (let k = 0; k < n; k++) {
            m[k] = c.beta1 * m[k] + (ad[k] - gd[k]);
            x[k] = gd[k] + c.lr * m[k];
          }
          continue;
        }
        const v = stateOf(st.v, name, gd, c.initialV);
        st.v[name].shape = [...g.shape];
        for (let k = 0; k < n; k++) {
          const d = ad[k] - gd[k];
          const d2 = d * d;
          m[k] = c.beta1 * m[k] + (1 - c.beta1) * d;
          if (c.name === 'fedadagrad') v[k] = v[k] + d2;
          else if (c.name === 'fedadam') v[k] = c.beta2 * v[k] + (1 - c.beta2) * d2;
          else v[k] = v[k] - (1 - c.beta2) * d2 * Math.sign(v[k] - d2);
          x[k] = gd[k] + (c.lr * m[k]) / (Math.sqrt(v[k]) + c.tau);
        }
      }
      for (const l of stepped) st.steps[l] = (st.steps[l] ?? 0) + 1;
      return out;
    },
    state() {
      const copy = (s: NamedArrays): NamedArrays =>
        Object.fromEntries(
          Object.entries(s).map(([k, t]) => [k, { shape: [...t.shape], data: t.data.slice() }]),
        );
      return { name: st.name, steps: { ...st.steps }, m: copy(st.m), v: copy(st.v) };
    },
    load(s) {
      if (s.name !== c.name) {
        throw new Error(
          `server optimizer: state is for "${s.name}", this optimizer is "${c.name}"`,
        );
      }
      st = {
        name: s.name,
        steps: { ...s.steps },
        m: Object.fromEntries(
          Object.entries(s.m).map(([k, t]) => [k, { shape: [...t.shape], data: t.data.slice() }]),
        ),
        v: Object.fromEntries(
          Object.entries(s.v).map(([k, t]) => [k, { shape: [...t.shape], data: t.data.slice() }]),
        ),
      };
    },
  };
}
