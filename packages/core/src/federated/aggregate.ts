/**
 * Masked, sample-weighted FedAvg of partial updates (docs/method.md §3).
 *
 * In F3OCUS each client trains only its assigned adapter layers (plus the head), so a round's
 * updates cover different subsets of the model. For every layer l:
 *
 *   new[l] = global[l] + sum_{i in C_l} n_i * delta_i[l] / sum_{i in C_l} n_i
 *
 * where C_l is the set of clients whose update contains layer l and n_i their sample counts.
 * A layer no client trained (C_l empty) keeps its global value. The head is trained by every
 * client, so it is averaged over all reporting clients; by default every update must carry it.
 *
 * A layer is the unit of masking (`layerOf(name)`): an update that touches a layer must carry
 * all of that layer's parameters, otherwise the mean would silently mix "trained" and "not
 * trained" for one adapter.
 *
 * Head by answer (`headAggregation: 'answer'`, docs/federated-recipe.md): the same rule one level
 * down. The head's unit is one answer: column j of `head/kernel` [H, A] and `head/bias[j]`
 * (index j of the last axis of every head parameter). Under a restricted softmax (FedRS, Li &
 * Zhan, KDD 2021) a site trains only the answers it has, and its update carries an exactly zero
 * delta for every other answer (train/answer-mask.ts `restrictHeadDeltas`). Averaging those
 * zeros in would divide a site-specific answer's step by the number of sites; instead
 *
 *   new[j] = global[j] + sum_{i in C_j} n_i * delta_i[j] / sum_{i in C_j} n_i
 *
 * with C_j the clients whose delta of answer j is not all zero; an answer nobody trained keeps
 * its global value. An update whose head delta is non-zero everywhere (no mask) gives exactly
 * the per-layer mean. The rule reads nothing but the deltas: no extra field on the wire.
 */
import { HEAD_LAYER, layerOf, sizeOf, type NamedArrays } from '../tensors/named.js';

export interface ClientUpdate {
  /** Used in error messages; defaults to `update[i]`. */
  client?: string;
  /** Local training examples: the FedAvg weight. Positive and finite. */
  numSamples: number;
  /** Deltas (trained - global) of exactly the parameters this client trained. */
  deltas: NamedArrays;
}

export interface AggregateOptions {
  /**
   * Layers every update must contain. Default: `['head']` when the global params have a
   * `head` layer (the head is always trained, interfaces.md), else none.
   */
  requiredLayers?: string[];
  /**
   * The caller already rejected NaN/Inf in every delta (decodeUpdate does, where updates enter
   * the coordinator): skip the value scan. Names, shapes and completeness are still checked.
   */
  valuesChecked?: boolean;
  /** Per client: the layers it may train (assigned plus always-trained); others are refused. */
  allowedLayers?: Record<string, readonly string[]>;
  /**
   * The unit the head is averaged by: 'layer' (default: every client that sent the head) or
   * 'answer' (each answer over the clients whose delta of that answer is non-zero; see above).
   */
  headAggregation?: HeadAggregation;
}

export const HEAD_AGGREGATIONS = ['layer', 'answer'] as const;
export type HeadAggregation = (typeof HEAD_AGGREGATIONS)[number];

export interface AggregateResult {
  /** New global parameters (fresh arrays; the input is never modified). */
  params: NamedArrays;
  /** Number of clients that trained each layer this round (0 = kept its global value). */
  contributors: Record<string, number>;
  /** Sum of numSamples over the contributing clients, per layer (0 when untouched). */
  weights: Record<string, number>;
  /** `headAggregation: 'answer'` only: per answer index, the clients that trained it this round. */
  answerContributors?: number[];
}

/** Interface-contract form (docs/interfaces.md): the new global parameters only. */
export function aggregateMasked(
  global: NamedArrays,
  updates: readonly ClientUpdate[],
  opts: AggregateOptions = {},
): NamedArrays {
  return aggregateMaskedDetailed(global, updates, opts).params;
}

/**
 * Validates one client's update against the global params in full (the coordinator calls it
 * when an update arrives, so one bad update is refused alone instead of failing the round).
 * `allowedLayers`: the layers this client was assigned plus the always-trained ones; any other
 * layer in the update is refused. Returns the layers the update trains.
 */
export function checkClientUpdate(
  global: NamedArrays,
  update: ClientUpdate,
  opts: Omit<AggregateOptions, 'allowedLayers'> & { allowedLayers?: readonly string[] } = {},
): string[] {
  const paramsOfLayer = groupByLayer(global);
  const who = update.client ?? 'update';
  return validateUpdate(global, paramsOfLayer, requiredOf(paramsOfLayer, opts), update, who, {
    scanValues: !opts.valuesChecked,
    allowed: opts.allowedLayers,
  });
}

function requiredOf(
  paramsOfLayer: Map<string, string[]>,
  opts: Pick<AggregateOptions, 'requiredLayers'>,
): string[] {
  return opts.requiredLayers ?? (paramsOfLayer.has(HEAD_LAYER) ? [HEAD_LAYER] : []);
}

/** Same as `aggregateMasked`, plus per-layer contributor counts and weights. */
export function aggregateMaskedDetailed(
  global: NamedArrays,
  updates: readonly ClientUpdate[],
  opts: AggregateOptions = {},
): AggregateResult {
  const paramsOfLayer = groupByLayer(global);
  const required = requiredOf(paramsOfLayer, opts);
  const headAggregation = opts.headAggregation ?? 'layer';
  if (!(HEAD_AGGREGATIONS as readonly string[]).includes(headAggregation)) {
    throw new Error(
      `headAggregation must be one of ${HEAD_AGGREGATIONS.join(', ')}, got "${String(headAggregation)}"`,
    );
  }
  const byAnswer = headAggregation === 'answer' ? answerAxisOf(global, paramsOfLayer) : undefined;
  for (const l of required) {
    if (!paramsOfLayer.has(l)) throw new Error(`required layer "${l}" is not in the global params`);
  }

  const seen = new Set<string>();
  const layersOf = updates.map((u, i) => {
    const who = u.client ?? `update[${i}]`;
    if (u.client !== undefined) {
      if (seen.has(u.client)) throw new Error(`client "${u.client}" reported twice this round`);
      seen.add(u.client);
    }
    if (opts.allowedLayers && u.client !== undefined && !opts.allowedLayers[u.client]) {
      throw new Error(`client "${u.client}" sent an update but had no assignment`);
    }
    return validateUpdate(global, paramsOfLayer, required, u, who, {
      scanValues: !opts.valuesChecked,
      allowed: u.client !== undefined ? opts.allowedLayers?.[u.client] : undefined,
    });
  });

  // Accumulate in float64 so the result does not depend on client order beyond the final
  // rounding to float32.
  const acc = new Map<string, Float64Array>();
  const contributors: Record<string, number> = {};
  const weights: Record<string, number> = {};
  for (const l of paramsOfLayer.keys()) {
    contributors[l] = 0;
    weights[l] = 0;
  }
  // Per answer of the head: the summed weights of the clients that trained it.
  const answerWeights = byAnswer ? new Float64Array(byAnswer) : undefined;
  const answerContributors = byAnswer ? new Array<number>(byAnswer).fill(0) : undefined;
  updates.forEach((u, i) => {
    for (const l of layersOf[i]) {
      contributors[l] += 1;
      weights[l] += u.numSamples;
      if (answerWeights && l === HEAD_LAYER) {
        const trained = trainedAnswers(u.deltas, paramsOfLayer.get(l)!, byAnswer!);
        trained.forEach((t, j) => {
          if (!t) return;
          answerWeights[j] += u.numSamples;
          answerContributors![j] += 1;
        });
      }
      for (const name of paramsOfLayer.get(l)!) {
        let a = acc.get(name);
        if (!a) {
          a = new Float64Array(global[name].data.length);
          acc.set(name, a);
        }
        const d = u.deltas[name].data;
        const w = u.numSamples;
        for (let k = 0; k < d.length; k++) a[k] += w * d[k];
      }
    }
  });

  const params: NamedArrays = {};
  for (const [name, g] of Object.entries(global)) {
    const a = acc.get(name);
    const out = new Float32Array(g.data.length);
    if (!a) {
      out.set(g.data);
    } else if (answerWeights && layerOf(name) === HEAD_LAYER) {
      // Element k belongs to answer k mod A (the answer is the last axis).
      const A = answerWeights.length;
      for (let k = 0; k < out.length; k++) {
        const w = answerWeights[k % A];
        out[k] = w > 0 ? g.data[k] + a[k] / w : g.data[k];
      }
    } else {
      const total = weights[layerOf(name)];
      for (let k = 0; k < out.length; k++) out[k] = g.data[k] + a[k] / total;
    }
    params[name] = { shape: [...g.shape], data: out };
  }
  return answerContributors
    ? { params, contributors, weights, answerContributors }
    : { params, contributors, weights };
}

/** The number of answers A: the last axis of every head parameter (they must agree). */
function answerAxisOf(global: NamedArrays, paramsOfLayer: Map<string, string[]>): number {
  const names = paramsOfLayer.get(HEAD_LAYER);
  if (!names) throw new Error("headAggregation 'answer': the global params have no head layer");
  const sizes = new Set(names.map((n) => global[n].shape[global[n].shape.length - 1]));
  if (sizes.size !== 1 || names.some((n) => global[n].shape.length === 0)) {
    throw new Error(
      `headAggregation 'answer': head parameters must share their last axis (the answers), got ${names
        .map((n) => `${n} [${global[n].shape.join(', ')}]`)
        .join(', ')}`,
    );
  }
  return [...sizes][0];
}

/** Per answer j: whether any head delta of this update is non-zero at answer j. */
function trainedAnswers(deltas: NamedArrays, headNames: readonly string[], A: number): boolean[] {
  const out = new Array<boolean>(A).fill(false);
  for (const name of headNames) {
    const d = deltas[name].data;
    for (let k = 0; k < d.length; k++) if (d[k] !== 0) out[k % A] = true;
  }
  return out;
}

function groupByLayer(global: NamedArrays): Map<string, string[]> {
  const m = new Map<string, string[]>();
  for (const [name, t] of Object.entries(global)) {
    if (t.data.length !== sizeOf(t.shape)) {
      throw new Error(
        `global param "${name}": data length ${t.data.length} does not match shape [${t.shape.join(', ')}]`,
      );
    }
    const l = layerOf(name);
    const list = m.get(l);
    if (list) list.push(name);
    else m.set(l, [name]);
  }
  return m;
}

/** Checks one update in full; returns the layers it trained. */
function validateUpdate(
  global: NamedArrays,
  paramsOfLayer: Map<string, string[]>,
  required: readonly string[],
  u: ClientUpdate,
  who: string,
  check: { scanValues: boolean; allowed?: readonly string[] },
): string[] {
  if (typeof u.numSamples !== 'number' || !Number.isFinite(u.numSamples) || u.numSamples <= 0) {
    throw new Error(`${who}: numSamples must be a positive finite number, got ${u.numSamples}`);
  }
  if (u.deltas === null || typeof u.deltas !== 'object') {
    throw new Error(`${who}: deltas must be an object of named tensors`);
  }
  const layers = new Set<string>();
  for (const [name, t] of Object.entries(u.deltas)) {
    // Own properties only: a name like "constructor" must not find Object.prototype's.
    const g = Object.hasOwn(global, name) ? global[name] : undefined;
    if (!g) throw new Error(`${who}: unknown parameter "${name}" (not in the global params)`);
    if (!t || !Array.isArray(t.shape) || !(t.data instanceof Float32Array)) {
      throw new Error(`${who}: parameter "${name}" must be {shape: number[], data: Float32Array}`);
    }
    if (t.shape.length !== g.shape.length || t.shape.some((d, k) => d !== g.shape[k])) {
      throw new Error(
        `${who}: parameter "${name}" has shape [${t.shape.join(', ')}], expected [${g.shape.join(', ')}]`,
      );
    }
    if (t.data.length !== g.data.length) {
      throw new Error(
        `${who}: parameter "${name}" has ${t.data.length} values, expected ${g.data.length}`,
      );
    }
    if (check.scanValues) {
      for (let k = 0; k < t.data.length; k++) {
        if (!Number.isFinite(t.data[k])) {
          throw new Error(
            `${who}: parameter "${name}" has a non-finite value (${t.data[k]}) at ${k}`,
          );
        }
      }
    }
    layers.add(layerOf(name));
  }
  if (check.allowed) {
    const allowed = new Set(check.allowed);
    const extra = [...layers].filter((l) => !allowed.has(l));
    if (extra.length > 0) {
      throw new Error(`${who}: update trains unassigned layer(s) ${extra.join(', ')}`);
    }
  }
  for (const l of layers) {
    const missing = paramsOfLayer.get(l)!.filter((n) => !(n in u.deltas));
    if (missing.length > 0) {
      throw new Error(`${who}: layer "${l}" is incomplete, missing ${missing.join(', ')}`);
    }
  }
  for (const l of required) {
    if (!layers.has(l)) throw new Error(`${who}: update lacks the required layer "${l}"`);
  }
  return [...layers];
}
