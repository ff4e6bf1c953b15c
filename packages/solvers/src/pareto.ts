/**
 * Pareto tools, all in minimisation form: dominance, fast non-dominated sort and crowding
 * distance (Deb et al. 2002, NSGA-II §III), exact 2-D hypervolume, normalisation helpers.
 */

/** True when a Pareto-dominates b (no worse everywhere, strictly better somewhere). */
export function dominates(a: readonly number[], b: readonly number[]): boolean {
  let better = false;
  for (let k = 0; k < a.length; k++) {
    if (a[k] > b[k]) return false;
    if (a[k] < b[k]) better = true;
  }
  return better;
}

/**
 * Fast non-dominated sort: fronts of indices, front 0 = non-dominated. Two objectives use an
 * O(N log N) sweep (below); otherwise Deb's O(M N^2) bookkeeping.
 */
export function fastNonDominatedSort(objs: readonly (readonly number[])[]): number[][] {
  if (objs.length > 0 && objs[0].length === 2) return nonDominatedSort2d(objs);
  const n = objs.length;
  const dominatedBy: number[][] = Array.from({ length: n }, () => []);
  const count = new Int32Array(n);
  const fronts: number[][] = [[]];
  for (let p = 0; p < n; p++) {
    for (let q = p + 1; q < n; q++) {
      if (dominates(objs[p], objs[q])) {
        dominatedBy[p].push(q);
        count[q]++;
      } else if (dominates(objs[q], objs[p])) {
        dominatedBy[q].push(p);
        count[p]++;
      }
    }
  }
  for (let p = 0; p < n; p++) if (count[p] === 0) fronts[0].push(p);
  let i = 0;
  while (fronts[i].length > 0) {
    const next: number[] = [];
    for (const p of fronts[i]) {
      for (const q of dominatedBy[p]) {
        if (--count[q] === 0) next.push(q);
      }
    }
    fronts.push(next);
    i++;
  }
  fronts.pop();
  return fronts;
}

/**
 * Two-objective sort: visit points by (f1, f2) ascending; a point joins the first front whose
 * most recent member has a larger f2 (that member is the front's lowest f2, and no earlier
 * point of that front can dominate it then). The fronts' last f2 values stay non-decreasing
 * in the front number, so a binary search finds the front. Equal vectors share a front.
 */
function nonDominatedSort2d(objs: readonly (readonly number[])[]): number[][] {
  const order = objs
    .map((_, i) => i)
    .sort((a, b) => objs[a][0] - objs[b][0] || objs[a][1] - objs[b][1] || a - b);
  const fronts: number[][] = [];
  const lastF2: number[] = [];
  let prev = -1;
  let prevFront = -1;
  for (const i of order) {
    const p = objs[i];
    let k: number;
    if (prev >= 0 && objs[prev][0] === p[0] && objs[prev][1] === p[1]) k = prevFront;
    else {
      let lo = 0;
      let hi = fronts.length;
      while (lo < hi) {
        const mid = (lo + hi) >> 1;
        if (lastF2[mid] > p[1]) hi = mid;
        else lo = mid + 1;
      }
      k = lo;
    }
    if (k === fronts.length) {
      fronts.push([]);
      lastF2.push(p[1]);
    }
    fronts[k].push(i);
    lastF2[k] = p[1];
    prev = i;
    prevFront = k;
  }
  for (const f of fronts) f.sort((a, b) => a - b);
  return fronts;
}

/** Rank (front number) of every point. */
export function paretoRanks(objs: readonly (readonly number[])[]): number[] {
  const ranks = new Array<number>(objs.length).fill(0);
  fastNonDominatedSort(objs).forEach((front, r) => {
    for (const i of front) ranks[i] = r;
  });
  return ranks;
}

/**
 * Crowding distance of the points `idx` (one front): sum over objectives of the normalised gap
 * between each point's neighbours; boundary points get Infinity.
 */
export function crowdingDistance(
  objs: readonly (readonly number[])[],
  idx: readonly number[],
): number[] {
  const n = idx.length;
  const d = new Array<number>(n).fill(0);
  if (n <= 2) return d.fill(Infinity);
  const m = objs[idx[0]].length;
  const order = Array.from({ length: n }, (_, k) => k);
  for (let k = 0; k < m; k++) {
    order.sort((a, b) => objs[idx[a]][k] - objs[idx[b]][k] || a - b);
    const lo = objs[idx[order[0]]][k];
    const hi = objs[idx[order[n - 1]]][k];
    d[order[0]] = Infinity;
    d[order[n - 1]] = Infinity;
    const span = hi - lo;
    if (span <= 0) continue;
    for (let r = 1; r < n - 1; r++) {
      d[order[r]] += (objs[idx[order[r + 1]]][k] - objs[idx[order[r - 1]]][k]) / span;
    }
  }
  return d;
}

/** Indices of the non-dominated points (duplicates of an objective vector: first kept). */
export function nonDominatedIndices(objs: readonly (readonly number[])[]): number[] {
  const out: number[] = [];
  for (let i = 0; i < objs.length; i++) {
    let keep = true;
    for (let j = 0; j < objs.length && keep; j++) {
      if (j === i) continue;
      if (dominates(objs[j], objs[i])) keep = false;
      else if (j < i && sameVector(objs[j], objs[i])) keep = false;
    }
    if (keep) out.push(i);
  }
  return out;
}

export function sameVector(a: readonly number[], b: readonly number[]): boolean {
  for (let k = 0; k < a.length; k++) if (a[k] !== b[k]) return false;
  return true;
}

/**
 * Exact hypervolume of 2-D points (minimisation) w.r.t. `ref`: the area dominated by the set and
 * bounded by ref. Points that do not strictly dominate ref contribute nothing. O(N log N) sweep.
 */
export function hypervolume2d(
  points: readonly (readonly number[])[],
  ref: readonly [number, number] | readonly number[],
): number {
  const pts = points.filter((p) => p[0] < ref[0] && p[1] < ref[1]).map((p) => [p[0], p[1]]);
  pts.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  let hv = 0;
  let bestF2 = ref[1];
  for (let i = 0; i < pts.length; i++) {
    const [f1, f2] = pts[i];
    if (f2 >= bestF2) continue; // dominated by (or equal to) an earlier point
    // Points come in increasing f1, so this one adds the strip [f1, ref0] x [f2, bestF2).
    hv += (ref[0] - f1) * (bestF2 - f2);
    bestF2 = f2;
  }
  return hv;
}

/** Per-objective ideal (minimum) and nadir (maximum) of a point set. */
export function bounds(points: readonly (readonly number[])[]): {
  ideal: number[];
  nadir: number[];
} {
  const m = points[0]?.length ?? 0;
  const ideal = new Array<number>(m).fill(Infinity);
  const nadir = new Array<number>(m).fill(-Infinity);
  for (const p of points) {
    for (let k = 0; k < m; k++) {
      if (p[k] < ideal[k]) ideal[k] = p[k];
      if (p[k] > nadir[k]) nadir[k] = p[k];
    }
  }
  return { ideal, nadir };
}

/** Map points to [0,1] per objective using ideal/nadir (a zero span maps to 0). */
export function normalize(
  points: readonly (readonly number[])[],
  ideal: readonly number[],
  nadir: readonly number[],
): number[][] {
  return points.map((p) =>
    p.map((v, k) => {
      const span = nadir[k] - ideal[k];
      return span > 0 ? (v - ideal[k]) / span : v - ideal[k];
    }),
  );
}

/**
 * Hypervolume of 2-D points after normalising with (ideal, nadir) — usually those of a
 * reference front — with reference point (refFactor, refFactor) in normalised space
 * (default 1.1, the convention used for ZDT).
 */
export function normalizedHypervolume(
  points: readonly (readonly number[])[],
  ideal: readonly number[],
  nadir: readonly number[],
  refFactor = 1.1,
): number {
  return hypervolume2d(normalize(points, ideal, nadir), [refFactor, refFactor]);
}
