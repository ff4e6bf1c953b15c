import { bounds, normalize } from './pareto.js';

/**
 * Rules that pick one solution from a front (docs/method.md §2, [ours]). All work on objectives in
 * minimisation form, normalised to [0,1] by the front's own ideal and nadir, so they do not
 * depend on the objectives' units (importance sums to at most C, variance grows with C^2).
 *
 * Default: `knee`. It picks the point that bulges furthest towards the ideal from the straight
 * line between the two extreme points: the place where giving up more importance stops buying
 * much balance (and vice versa). Unlike `weighted` it needs no weights, and unlike `ideal` it does
 * not depend on where the extremes sit relative to the ideal corner. With fewer than 3 points
 * the line is degenerate and `knee` falls back to `ideal`.
 */
export type PickRule = 'knee' | 'ideal' | 'weighted';
export const PICK_RULES: readonly PickRule[] = ['knee', 'ideal', 'weighted'];
export const DEFAULT_PICK_RULE: PickRule = 'knee';

export interface PickOptions {
  /** Weights for `weighted` on the normalised objectives (default equal weights). */
  weights?: readonly number[];
}

/** Index into `objs` chosen by `rule`; -1 for an empty front. Ties: lowest index. */
export function pick(
  objs: readonly (readonly number[])[],
  rule: PickRule = DEFAULT_PICK_RULE,
  opts: PickOptions = {},
): number {
  if (objs.length === 0) return -1;
  if (objs.length === 1) return 0;
  const { ideal, nadir } = bounds(objs);
  const z = normalize(objs, ideal, nadir);
  switch (rule) {
    case 'ideal':
      return argmin(z.map((p) => Math.hypot(...p)));
    case 'weighted': {
      const w = opts.weights ?? new Array<number>(z[0].length).fill(1 / z[0].length);
      if (w.length !== z[0].length || w.some((v) => !(v >= 0))) {
        throw new Error(
          `weights: expected ${z[0].length} non-negative numbers, got [${w.join(', ')}]`,
        );
      }
      return argmin(z.map((p) => p.reduce((s, v, k) => s + w[k] * v, 0)));
    }
    case 'knee':
      return knee(z);
    default: {
      const never: never = rule;
      throw new Error(
        `pick: unknown rule "${String(never)}", expected one of ${PICK_RULES.join(', ')}`,
      );
    }
  }
}

/** 2-D knee: largest distance below the line joining the extreme points (normalised). */
function knee(z: number[][]): number {
  if (z.length < 3 || z[0].length !== 2) return argmin(z.map((p) => Math.hypot(...p)));
  const a = z[argmin(z.map((p) => p[0]))]; // best in objective 0
  const b = z[argmin(z.map((p) => p[1]))]; // best in objective 1
  const dx = b[0] - a[0];
  const dy = b[1] - a[1];
  const len = Math.hypot(dx, dy);
  if (len === 0) return 0;
  // Signed distance: positive on the side of the ideal point (0, 0).
  const side = (p: number[]): number => ((p[0] - a[0]) * dy - (p[1] - a[1]) * dx) / len;
  const sIdeal = side([0, 0]);
  const sign = sIdeal >= 0 ? 1 : -1;
  return argmin(z.map((p) => -sign * side(p)));
}

function argmin(v: readonly number[]): number {
  let best = 0;
  for (let i = 1; i < v.length; i++) if (v[i] < v[best]) best = i;
  return best;
}
