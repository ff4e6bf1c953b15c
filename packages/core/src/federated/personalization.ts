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
 *
 * No tfjs here: the state is named Float32 arrays, laid over the model by the caller.
 */
import { HEAD_LAYER, layerOf, type NamedArrays } from '../tensors/named.js';

export const PERSONALIZATIONS = ['none', 'finetune', 'adapters'] as const;
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

/** Under `mode`, whether a parameter is the site's own (kept, never sent). */
export function isPersonalParam(mode: Personalization, paramName: string): boolean {
  return mode === 'adapters' && layerOf(paramName) !== HEAD_LAYER;
}

const copy = (a: NamedArrays): NamedArrays =>
  Object.fromEntries(
    Object.entries(a).map(([k, v]) => [k, { shape: [...v.shape], data: v.data.slice() }]),
  );

/**
 * One site's personal state. The caller lays `beforeTraining()` over the global params before
 * local training, hands the trained params to `afterTraining`, sends `outgoing(deltas)`, and
 * evaluates with `forEvaluation()` laid over the global params (then restores the global ones).
 *
 * In both modes the site's model is the model of its last local training; they differ in where
 * that training starts: `finetune` from the global model, `adapters` from the global head and
 * the site's own adapters of its previous round.
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

  /** Params to lay over the global ones before training (`adapters`: the site's adapters). */
  beforeTraining(): NamedArrays {
    if (this.mode !== 'adapters' || !this.last) return {};
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

  /** The update as sent: the personal params' deltas removed (none under `none`/`finetune`). */
  outgoing(deltas: NamedArrays): NamedArrays {
    if (this.mode !== 'adapters') return deltas;
    return Object.fromEntries(
      Object.entries(deltas).filter(([name]) => !isPersonalParam(this.mode, name)),
    );
  }

  /** Params to lay over the global ones for the site's evaluation ({} = the global model). */
  forEvaluation(): NamedArrays {
    return this.last ? copy(this.last) : {};
  }
}
