import * as tf from '@tensorflow/tfjs';
import { mulberry32, shuffleInPlace } from '../random.js';
import type { NamedArrays } from '../tensors/named.js';
import {
  type Differentiable,
  gradArrays,
  meanLoss,
  paramNamesOf,
  range,
  valueArrays,
} from './differentiable.js';
import { hessianVectorProduct } from './hvp.js';
import { type LntkOptions, lntkOf } from './lntk.js';
import { SCORER_METHODS, type ScorerMethod, dataFreeScores } from './methods.js';

export { SCORER_METHODS, isScorerMethod, topB, type ScorerMethod } from './methods.js';

/**
 * The layer scorers of Table 1 (docs/method.md §4). Every scorer returns one number per layer of
 * `model.layers` (same order); a client then takes its top-B layers (topB).
 *
 * Parameter scores become a layer score by SUMMING over the layer's parameters (`reduce:
 * 'sum'`, the default), as SNIP/GraSP/Synflow saliencies are sums over the weights they keep;
 * `reduce: 'mean'` divides by the layer's parameter count instead. All adapter layers of the
 * VQA model have the same size, so both give the same ranking there. RGN is a ratio of norms
 * and LNTK a normalised eigenvalue; neither uses `reduce`.
 */
export interface ScorerOptions {
  /** Seeds `random`'s draw, SPT's mini-batches and LNTK. Default 0. */
  seed?: number;
  reduce?: 'sum' | 'mean';
  /** FedSelect: the change of every parameter after local training (theta_after - theta_before). */
  delta?: NamedArrays;
  /** GraSP: logits are divided by this temperature before the loss (GraSP paper: 200). */
  temperature?: number;
  /** SPT: number of mini-batches (8) and their size (default max(1, floor(n / batches))). */
  sptBatches?: number;
  sptBatchSize?: number;
  /** Options passed to LNTK. */
  lntk?: LntkOptions;
}

/** One score per layer of `model.layers`, by the named method (higher = more important). */
export function layerScores(
  method: ScorerMethod,
  model: Differentiable,
  opts: ScorerOptions = {},
): number[] {
  const layers = model.layers;
  const seed = opts.seed ?? 0;
  const reduce = opts.reduce ?? 'sum';
  if (reduce !== 'sum' && reduce !== 'mean')
    throw new Error(`reduce must be 'sum' or 'mean', got "${String(reduce)}"`);
  const names = paramNamesOf(model);
  const all = range(model.numSamples);
  const perLayer = (score: (name: string, i: number) => number): number[] =>
    layers.map((l) => {
      let s = 0;
      let count = 0;
      for (const n of model.paramsOf(l)) {
        const size = model.params[n].size;
        for (let i = 0; i < size; i++) s += score(n, i);
        count += size;
      }
      return reduce === 'mean' ? s / count : s;
    });
  const lossOf =
    (idx: readonly number[], temperature = 1) =>
    (p: Record<string, tf.Tensor>) =>
      meanLoss(model, p, idx, temperature);

  switch (method) {
    case 'last':
    case 'random':
      // Depth, or federated dropout's seeded draw (round seed -> new layers).
      return dataFreeScores(method, layers.length, seed);
    case 'magnitude': {
      const th = valueArrays(model, names);
      return perLayer((n, i) => Math.abs(th[n][i]));
    }
    case 'fishmask': {
      // Empirical Fisher diagonal: mean over samples of the squared per-sample loss gradient.
      const f: Record<string, Float64Array> = {};
      for (const n of names) f[n] = new Float64Array(model.params[n].size);
      for (const i of all) {
        const g = gradArrays(lossOf([i]), model.params, names);
        for (const n of names) for (let k = 0; k < g[n].length; k++) f[n][k] += g[n][k] ** 2;
      }
      return perLayer((n, i) => f[n][i] / all.length);
    }
    case 'snip': {
      const g = gradArrays(lossOf(all), model.params, names);
      const th = valueArrays(model, names);
      return perLayer((n, i) => Math.abs(g[n][i] * th[n][i]));
    }
    case 'grasp':
    case 'gradflow': {
      // GraSP (Wang et al. 2020): s = -theta * (H g), g and H of the loss on logits / T.
      // GradFlow (Lubana & Dick 2021): |sum over the layer of theta * (H g)|, T = 1.
      const T = method === 'grasp' ? (opts.temperature ?? 200) : 1;
      const loss = lossOf(all, T);
      const g = gradArrays(loss, model.params, names);
      const hg = hessianVectorProduct(loss, model.params, g, names);
      const th = valueArrays(model, names);
      if (method === 'grasp') return perLayer((n, i) => -th[n][i] * hg[n][i]);
      return perLayer((n, i) => th[n][i] * hg[n][i]).map(Math.abs);
    }
    case 'rgn': {
      // Relative gradient norm (surgical fine-tuning): ||g_l|| / ||theta_l||.
      const g = gradArrays(lossOf(all), model.params, names);
      const th = valueArrays(model, names);
      return layers.map((l) => {
        let gn = 0;
        let tn = 0;
        for (const n of model.paramsOf(l))
          for (let i = 0; i < g[n].length; i++) {
            gn += g[n][i] ** 2;
            tn += th[n][i] ** 2;
          }
        return tn === 0 ? 0 : Math.sqrt(gn / tn);
      });
    }
    case 'synflow': {
      // Data-free: theta <- |theta|, all-ones input, R = sum of outputs, s = |dR/dtheta * theta|.
      const ones = model.onesOutput?.bind(model);
      if (!ones) throw new Error('synflow: this model has no all-ones input (onesOutput)');
      const abs: Record<string, tf.Tensor> = {};
      for (const n of names) abs[n] = tf.abs(model.params[n]);
      try {
        const g = gradArrays((p) => tf.sum(ones(p)) as tf.Scalar, abs, names);
        const th = valueArrays(model, names);
        return perLayer((n, i) => Math.abs(g[n][i] * th[n][i]));
      } finally {
        for (const t of Object.values(abs)) t.dispose();
      }
    }
    case 'fedselect': {
      const d = opts.delta;
      if (!d)
        throw new Error('fedselect: opts.delta (theta after - before local training) is required');
      for (const n of names) {
        if (!d[n]) throw new Error(`fedselect: delta has no entry for "${n}"`);
        if (d[n].data.length !== model.params[n].size)
          throw new Error(
            `fedselect: delta "${n}" has ${d[n].data.length} values, expected ${model.params[n].size}`,
          );
      }
      return perLayer((n, i) => Math.abs(d[n].data[i]));
    }
    case 'spt': {
      // SPT: squared mini-batch loss gradients, summed over `sptBatches` seeded mini-batches.
      const B = opts.sptBatches ?? 8;
      const size = opts.sptBatchSize ?? Math.max(1, Math.floor(all.length / B));
      if (!Number.isInteger(B) || B < 1) throw new Error(`sptBatches must be >= 1, got ${B}`);
      if (!Number.isInteger(size) || size < 1 || size > all.length)
        throw new Error(`sptBatchSize must be in [1, ${all.length}], got ${size}`);
      const rand = mulberry32(seed ^ 0x5b7);
      let order = shuffleInPlace([...all], rand);
      let pos = 0;
      const acc: Record<string, Float64Array> = {};
      for (const n of names) acc[n] = new Float64Array(model.params[n].size);
      for (let b = 0; b < B; b++) {
        if (pos + size > order.length) {
          order = shuffleInPlace([...all], rand);
          pos = 0;
        }
        const batch = order.slice(pos, pos + size);
        pos += size;
        const g = gradArrays(lossOf(batch), model.params, names);
        for (const n of names) for (let k = 0; k < g[n].length; k++) acc[n][k] += g[n][k] ** 2;
      }
      return perLayer((n, i) => acc[n][i]);
    }
    case 'lntk':
      return lntkOf(model, { seed, ...opts.lntk }).scores;
    default:
      throw new Error(`unknown scorer "${String(method)}"; valid: ${SCORER_METHODS.join(', ')}`);
  }
}
