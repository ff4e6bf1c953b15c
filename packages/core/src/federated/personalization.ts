/**
 * Personalisation: the model a site uses is not always the shared global one
 * (docs/federated-recipe.md, "Personalisation"). A site's personal parameters live on the site
 * only (in memory, for as long as its compute lives: one session of a tab or a simulated site)
 * and never travel; what the site sends for the shared layers has the form it has without
 * personalisation (under `finetune` it is the same update, bit for bit).
 *
 * - `none`: every site uses the global model.
 * - `finetune` (FedAvg + local fine-tuning): a site uses the model of its last local training,
 *   i.e. the global model it started that round from, trained by that round's local steps on its
 *   own data. It costs no extra step: after R rounds of K steps the site's model has seen R·K
 *   local steps, as many as training alone for R·K steps. Its update is unchanged.
 * - `adapters` (personal layers, as LG-FedAvg: local representation, global head; Liang et al.,
 *   2020): a site keeps its own adapters across rounds (every round's training starts from its
 *   adapters and the global head) and shares only the head; a site uses its adapters with the
 *   head as its last local training left it. Its update carries only the head (the coordinator
 *   then expects the head only; the strategy's assignment says which of its own adapters a site
 *   trains that round).
 * - `proximal` (personal models pulled toward the global one: the mean-regularised multi-task
 *   objective Σ_k F_k(v_k) + (μ/2) Σ_k ||v_k − w||², as in Ditto, Li et al., ICML 2021, eq. 2,
 *   and pFedMe, T. Dinh et al., NeurIPS 2020): a site keeps its whole model across rounds;
 *   every round's training starts from it, with the round's `proxMu` pulling it toward the
 *   round's global model (the proximal term's anchor is the global model, not the starting
 *   point as in FedProx), and the update it sends is its model minus the global model (for the
 *   layers the round assigned it and the head), so the server's mean of the updates moves the
 *   global model to the mean of the sites' models. No extra step: a site's model sees R·K
 *   local steps, as many as training alone; with μ = 0 it is training alone, restarted every
 *   round.
 *
 * No tfjs here: the state is named Float32 arrays, laid over the model by the caller.
 */
import { HEAD_LAYER, layerOf, type NamedArrays } from '../tensors/named.js';

export const PERSONALIZATIONS = ['none', 'finetune', 'adapters', 'proximal'] as const;
export type Personalization = (typeof PERSONALIZATIONS)[number];

/** Throws a clear error for a value that is not a personalisation mode. */
export function checkPersonalization(mode: unknown): Personalization {
  if (!(PERSONALIZATIONS as readonly unknown[]).includes(mode)) {
    throw new Error(
      `personalization must be one of ${PERSONALIZATIONS.join(', ')}, got "${String(mode)}"`,
    );
  }
  return mode as Personalization;
}

/**
 * Under `mode`, whether a parameter is the site's own and never sent (`adapters`' adapters).
 * Under `proximal` every parameter is the site's own but its difference to the global model
 * is sent, so none is withheld.
 */
export function isPersonalParam(mode: Personalization, paramName: string): boolean {
  return mode === 'adapters' && layerOf(paramName) !== HEAD_LAYER;
}

const copy = (a: NamedArrays): NamedArrays =>
  Object.fromEntries(
    Object.entries(a).map(([k, v]) => [k, { shape: [...v.shape], data: v.data.slice() }]),
  );

/**
 * One site's personal state. The caller lays `beforeTraining()` over the global params before
 * local training, hands the trained params to `afterTraining`, sends `outgoing(deltas, global)`,
 * and evaluates with `forEvaluation()` laid over the global params (then restores the global
 * ones).
 *
 * In every mode the site's model is the model of its last local training; they differ in where
 * that training starts: `finetune` from the global model, `adapters` from the global head and
 * the site's own adapters of its previous round, `proximal` from the site's whole model of its
 * previous round.
 */
export class SitePersonalState {
  readonly mode: Personalization;
  /** The site's model: every shared name, as its last local training left it. */
  private last: NamedArrays | null = null;

  constructor(mode: Personalization = 'none') {
    this.mode = checkPersonalization(mode);
  }

  /** Whether the site has a personal model yet (it has trained at least once). */
  get hasModel(): boolean {
    return this.last !== null;
  }

  /**
   * Params to lay over the global ones before training (`adapters`: the site's adapters;
   * `proximal`: its whole model).
   */
  beforeTraining(): NamedArrays {
    if (!this.last) return {};
    if (this.mode === 'proximal') return copy(this.last);
    if (this.mode !== 'adapters') return {};
    return copy(
      Object.fromEntries(
        Object.entries(this.last).filter(([name]) => isPersonalParam(this.mode, name)),
      ),
    );
  }

  /** Records the model's params right after local training (every shared name of it). */
  afterTraining(trained: NamedArrays): void {
    if (this.mode === 'none') return;
    // A layer the round did not train keeps the value the site's model had for it.
    this.last = { ...(this.last ?? {}), ...copy(trained) };
  }

  /**
   * The update as sent, for the trained params named by `deltas` (the local training's new −
   * start): `adapters` drops the personal params; `proximal` sends the site's model minus
   * `global` (the global params, at least of those names; call after `afterTraining`);
   * `none`/`finetune` send `deltas` as they are.
   */
  outgoing(deltas: NamedArrays, global?: NamedArrays): NamedArrays {
    if (this.mode === 'proximal') return this.differenceTo(Object.keys(deltas), global);
    if (this.mode !== 'adapters') return deltas;
    return Object.fromEntries(
      Object.entries(deltas).filter(([name]) => !isPersonalParam(this.mode, name)),
    );
  }

  /** `proximal`: the site's model minus the global one, for `names`. */
  private differenceTo(names: readonly string[], global: NamedArrays | undefined): NamedArrays {
    const out: NamedArrays = {};
    for (const name of names) {
      const own = this.last?.[name];
      const g = global?.[name];
      if (!own)
        throw new Error(`proximal: "${name}" was not trained by this site (afterTraining first)`);
      if (!g) throw new Error(`proximal: the global params lack "${name}"`);
      if (g.data.length !== own.data.length)
        throw new Error(
          `proximal: "${name}" has ${own.data.length} values here, ${g.data.length} in the global params`,
        );
      const d = own.data.slice();
      for (let i = 0; i < d.length; i++) d[i] -= g.data[i];
      out[name] = { shape: [...own.shape], data: d };
    }
    return out;
  }

  /** Params to lay over the global ones for the site's evaluation ({} = the global model). */
  forEvaluation(): NamedArrays {
    return this.last ? copy(this.last) : {};
  }
}
